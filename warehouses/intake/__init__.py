"""Order intake: one order or a batch, validated, stored once per idempotency key."""
