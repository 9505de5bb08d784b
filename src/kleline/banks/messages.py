"""ISO 8583 (1987) messages between Kleline and the issuers, as pure functions between values and bytes.

Sans-I/O on purpose: the spec is data for pyiso8583, ``encode_message`` and ``decode_message`` touch no socket, so
the in-process sandbox and the TCP link exchange exactly the same bytes and only the transport differs.

Message types: 0100/0110 authorisation (a zero amount verifies a card), 0200/0210 refund (a financial request
with processing code 20, "credit", that the issuer may refuse), 0220/0230 financial advice (capture), 0400/0410
reversal, 0800/0810 network echo. Fields: 2 PAN, 3 processing code, 4 amount in minor units, 11 trace
number (STAN), 12 local time, 14 expiry (YYMM), 37 retrieval reference number (the authorisation's id), 38 approval
code, 39 response code, 41 terminal, 42 merchant, 49 ISO 4217 numeric currency, and 48 (private, in the spirit of
Mastercard's DE 48) as tag-length-value subelements: 92 carries the security code in a request, 87 the issuer's
verdict on it in a response, 42 the electronic commerce indicator of an authorisation, and 61 a refund's own
reference (Kleline's refund id), which makes a repeated refund harmless and names it on the bank statement.

The codec is split by what a reader looks for: the field table (``message_fields``), the messages as values
(``message_types``), writing them (``message_encoding``) and reading them (``message_decoding``). This module is
the one name the rest of Kleline imports them from.

Errors name a field, never its value: a PAN or a CVC must not reach a log through an exception message.
"""

from __future__ import annotations

from kleline.banks.message_decoding import decode_message, decode_request, decode_response
from kleline.banks.message_encoding import encode_message
from kleline.banks.message_fields import SPEC
from kleline.banks.message_types import (
    AuthorizationRequest,
    AuthorizationResponse,
    CaptureAdvice,
    CaptureResponse,
    EchoRequest,
    EchoResponse,
    Message,
    RefundRequest,
    RefundResponse,
    Request,
    Response,
    ReversalRequest,
    ReversalResponse,
)

__all__ = [
    "SPEC",
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
    "decode_message",
    "decode_request",
    "decode_response",
    "encode_message",
]
