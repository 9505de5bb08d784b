"""Idempotency-Key records: a retried POST gets the first answer, never a second effect."""
