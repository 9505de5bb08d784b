"""Bank errors: a rule broken on the way to or from an issuer. A decline is never one of these: it is a value.

KlelineError
 └── BankError
      ├── MalformedMessage             bytes that are not a message of our ISO 8583 spec, or values that do not fit it
      │    └── UnexpectedResponse      a well-formed answer to another question (wrong type, trace number or reference)
      ├── InvalidCardDetails           a card number, expiry or security code of the wrong shape
      ├── InvalidAmount                an authorisation or capture of a non-positive amount
      ├── UnknownAuthorization         a capture or reversal names an authorisation the issuer never approved
      ├── AuthorizationClosed          a capture or reversal of an authorisation already captured or reversed
      ├── CaptureExceedsAuthorization  a capture larger than the authorisation, or in another currency
      ├── DuplicateReference           a reference reused for another card or amount
      ├── RefundRefused                the issuer refused to credit a refund (above what was captured, ...)
      └── IssuerUnavailable            the issuers cannot be asked now (status 503, code issuer_unavailable)
           ├── IssuerUnreachable       the request never left: no connection could be opened or borrowed
           └── NoAnswer                the request left and no answer came back: the issuer may have acted on it

The last two are told apart because what to do next differs: an unreachable issuer knows nothing of the request,
while one that did not answer may hold funds for it, which only a reversal releases.
"""

from __future__ import annotations

from kleline.errors import Conflict, KlelineError, NotFound, ValidationError

__all__ = [
    "AuthorizationClosed",
    "BankError",
    "CaptureExceedsAuthorization",
    "DuplicateReference",
    "InvalidAmount",
    "InvalidCardDetails",
    "IssuerUnavailable",
    "IssuerUnreachable",
    "MalformedMessage",
    "NoAnswer",
    "RefundRefused",
    "UnexpectedResponse",
    "UnknownAuthorization",
]


class BankError(KlelineError):
    """Root of the bank network's refusals."""

    code = "bank_error"
    status = 502


class MalformedMessage(BankError):
    """Bytes that do not decode as a message of our ISO 8583 spec, or values that cannot be encoded in it."""

    code = "bank_malformed_message"


class UnexpectedResponse(MalformedMessage):
    """A well-formed response that does not answer the request sent (another type, trace number or reference)."""

    code = "bank_unexpected_response"


class InvalidCardDetails(BankError, ValidationError):
    """A card number, expiry date or security code does not have the shape of one."""

    code = "invalid_card_details"
    status = 400


class InvalidAmount(BankError, ValidationError):
    """An authorisation or a capture asks for a zero or negative amount (verification is its own call)."""

    code = "invalid_amount"
    status = 400


class UnknownAuthorization(BankError, NotFound):
    """A capture or reversal names an authorisation that the issuers never approved."""

    code = "unknown_authorization"
    status = 404


class AuthorizationClosed(BankError, Conflict):
    """A capture or reversal arrives after the authorisation was already reversed, or captured for another amount."""

    code = "authorization_closed"
    status = 409


class CaptureExceedsAuthorization(BankError, ValidationError):
    """A capture asks for more than was authorised, or for another currency."""

    code = "capture_exceeds_authorization"
    status = 400


class DuplicateReference(BankError, Conflict):
    """An authorisation reuses a reference already sent for another card or amount."""

    code = "duplicate_reference"
    status = 409


class RefundRefused(BankError):
    """The issuer refused to credit a refund: more than was captured and not yet refunded, or another currency."""

    code = "card_refund_refused"


class IssuerUnavailable(BankError):
    """The card issuers cannot be asked now; trying again later may succeed."""

    code = "issuer_unavailable"
    status = 503


class IssuerUnreachable(IssuerUnavailable):
    """The request never left: the connection was refused, or none could be opened or borrowed in time."""


class NoAnswer(IssuerUnavailable):
    """The request was sent and no answer came back in time (or the connection broke while waiting for it)."""
