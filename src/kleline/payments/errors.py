"""What can go wrong with a payment or a refund.

    KlelineError
    ├── PaymentStateConflict (409)   the payment is not in a state that allows this call now
    │   └── AuthorizationExpired     the authorisation lapsed (or was released) before the capture
    ├── CaptureFailed (502)          the issuer refused a capture of an authorised card payment
    │   └── CaptureUnanswered (503)  the issuer did not answer it: the payment stays authorised, to capture later
    ├── RefundFailed (502)           the issuer refused a card refund: nothing was recorded
    └── ValidationError (400)
        ├── CaptureTooLarge          capture above what was authorised
        └── RefundTooLarge           refund above captured minus refunded

A declined card or an empty purse is not an error: the payment is ``failed`` with its ``failure_code``.
"""

from __future__ import annotations

from kleline.errors import Conflict, KlelineError, ValidationError

__all__ = [
    "AuthorizationExpired",
    "CaptureFailed",
    "CaptureTooLarge",
    "CaptureUnanswered",
    "PaymentStateConflict",
    "RefundFailed",
    "RefundTooLarge",
]


class PaymentStateConflict(Conflict):
    """The payment's state does not allow this call (capturing a canceled payment, confirming it twice, ...)."""

    code = "payment_unexpected_state"


class AuthorizationExpired(PaymentStateConflict):
    """The authorisation expired, or was released, before the merchant captured it."""

    code = "authorization_expired"


class CaptureFailed(KlelineError):
    """The card issuer refused to capture an authorisation; the payment stays authorised."""

    code = "capture_failed"
    status = 502


class CaptureUnanswered(CaptureFailed):
    """The card issuer did not answer a capture (twice); the payment stays authorised and may be captured again."""

    code = "issuer_unavailable"
    status = 503


class RefundFailed(KlelineError):
    """The card issuer refused to credit a refund; nothing was recorded and the payment is unchanged."""

    code = "refund_failed"
    status = 502


class CaptureTooLarge(ValidationError):
    """A capture may take at most what was authorised."""

    code = "amount_too_large"


class RefundTooLarge(ValidationError):
    """A refund may return at most what was captured and not yet refunded."""

    code = "refund_exceeds_captured"
