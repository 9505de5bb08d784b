"""The background worker: webhook deliveries and the periodic sweeps (authorisation expiry, idempotency records)."""
