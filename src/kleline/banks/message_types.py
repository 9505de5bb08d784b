"""The ISO 8583 messages as plain values: one frozen dataclass per message type, and its MTI.

Kept apart from the codec so that the acquirer, the sandbox and the simulator can speak in these values without
reading how they become bytes (``message_encoding``, ``message_decoding``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from kleline.banks.network import CardDetails, CvcResult
from kleline.money import Money

__all__ = [
    "MTI",
    "AuthorizationRequest",
    "AuthorizationResponse",
    "CaptureAdvice",
    "CaptureResponse",
    "EchoRequest",
    "EchoResponse",
    "Message",
    "RefundRequest",
    "RefundResponse",
    "Request",
    "Response",
    "ReversalRequest",
    "ReversalResponse",
]


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """0100: hold ``amount`` on ``card`` (zero to verify it); ``rrn`` becomes the authorisation's id."""

    stan: str
    rrn: str
    local_time: str
    card: CardDetails
    amount: Money
    terminal_id: str
    merchant_id: str
    authenticated: bool = False
    """The cardholder passed strong customer authentication with Kleline for this payment (ECI 05)."""


@dataclass(frozen=True, slots=True)
class AuthorizationResponse:
    """0110: the issuer's verdict; ``approval_code`` only when approved, ``cvc_result`` only when a CVC was sent."""

    stan: str
    rrn: str
    amount: Money
    code: str
    approval_code: str | None = None
    cvc_result: CvcResult = CvcResult.NOT_CHECKED


@dataclass(frozen=True, slots=True)
class CaptureAdvice:
    """0220: take ``amount`` of the authorisation ``rrn`` (an advice informs; it cannot be declined, only refused)."""

    stan: str
    rrn: str
    local_time: str
    amount: Money
    terminal_id: str
    merchant_id: str


@dataclass(frozen=True, slots=True)
class CaptureResponse:
    """0230: the issuer's acknowledgement of a capture advice."""

    stan: str
    rrn: str
    amount: Money
    code: str


@dataclass(frozen=True, slots=True)
class RefundRequest:
    """0200, processing code 20: credit ``amount`` to the cardholder of the captured authorisation ``rrn``.

    ``reference`` is the refund's own id: the issuer answers a repeat of it with its first answer, so that a refund
    whose answer was lost can be sent again without crediting twice."""

    stan: str
    rrn: str
    local_time: str
    amount: Money
    reference: str
    terminal_id: str
    merchant_id: str


@dataclass(frozen=True, slots=True)
class RefundResponse:
    """0210: the issuer credited the refund ("00") or refused it (25 unknown, 12 not captured, 13 too large, 94
    reference reused for another refund)."""

    stan: str
    rrn: str
    amount: Money
    reference: str
    code: str


@dataclass(frozen=True, slots=True)
class ReversalRequest:
    """0400: release the authorisation ``rrn``."""

    stan: str
    rrn: str
    local_time: str
    terminal_id: str
    merchant_id: str


@dataclass(frozen=True, slots=True)
class ReversalResponse:
    """0410: the issuer's acknowledgement of a reversal."""

    stan: str
    rrn: str
    code: str


@dataclass(frozen=True, slots=True)
class EchoRequest:
    """0800: is the network there?"""

    stan: str
    local_time: str


@dataclass(frozen=True, slots=True)
class EchoResponse:
    """0810: it is."""

    stan: str
    code: str


Request = AuthorizationRequest | RefundRequest | CaptureAdvice | ReversalRequest | EchoRequest
Response = AuthorizationResponse | RefundResponse | CaptureResponse | ReversalResponse | EchoResponse
Message = Request | Response


MTI: Final[Mapping[type[Message], str]] = {
    AuthorizationRequest: "0100",
    AuthorizationResponse: "0110",
    RefundRequest: "0200",
    RefundResponse: "0210",
    CaptureAdvice: "0220",
    CaptureResponse: "0230",
    ReversalRequest: "0400",
    ReversalResponse: "0410",
    EchoRequest: "0800",
    EchoResponse: "0810",
}
"""The message type identifier of each message."""
