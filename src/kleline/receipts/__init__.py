"""Signed receipts (Ed25519) for captured payments and refunds, verifiable offline."""
