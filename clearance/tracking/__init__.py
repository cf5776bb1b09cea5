"""Shipment tracking for merchants: the shipment list, one shipment's timeline."""
