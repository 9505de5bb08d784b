"""Idempotency-Key records: a retried POST gets the first answer, never a second effect."""

from kleline.idempotency.model import (
    HEADER,
    KEY_PATTERN,
    MAX_KEY_LENGTH,
    IdempotencyKeyReused,
    InvalidIdempotencyKey,
    RequestInProgress,
    StoredResponse,
    check_key,
    is_kept,
    principal,
    request_fingerprint,
)
from kleline.idempotency.service import Claim, Idempotency, PreparedKey

__all__ = [
    "HEADER",
    "KEY_PATTERN",
    "MAX_KEY_LENGTH",
    "Claim",
    "Idempotency",
    "IdempotencyKeyReused",
    "InvalidIdempotencyKey",
    "PreparedKey",
    "RequestInProgress",
    "StoredResponse",
    "check_key",
    "is_kept",
    "principal",
    "request_fingerprint",
]
