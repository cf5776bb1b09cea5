"""Webhooks: merchant endpoints, signed deliveries with retries, replay."""
