"""Gateways that hand messages to customs and bring receipts back."""
