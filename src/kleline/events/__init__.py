"""Events: the outbox written with each change, webhook endpoints, signed deliveries with retries."""
