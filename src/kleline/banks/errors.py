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
      └── DuplicateReference           a reference reused for another card or amount
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
    "MalformedMessage",
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
