"""Reading a message: from bytes to ISO 8583 fields, then to a value (``message_types``), as a request or an answer.

Kept apart from encoding because reading trusts nothing: every field is checked against its format, every required
field must be there, and anything truncated, garbled or unknown is a ``MalformedMessage`` that names the field,
never its value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Final

import iso8583
from iso4217 import Currency

from kleline.banks.errors import InvalidCardDetails, MalformedMessage
from kleline.banks.message_fields import (
    ECI_AUTHENTICATED,
    ECI_NOT_AUTHENTICATED,
    PADDED,
    PLAIN,
    PROCESSING,
    REFUND,
    SPEC,
    TAG_CVC,
    TAG_CVC_RESULT,
    TAG_ECI,
    TAG_REFERENCE,
    check_formats,
    untlv,
)
from kleline.banks.message_types import (
    MTI,
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
from kleline.banks.network import CardDetails, CvcResult
from kleline.money import Money, UnknownCurrency

__all__ = ["decode_message", "decode_request", "decode_response"]

_TYPES: Final = {mti: kind for kind, mti in MTI.items()}
_CURRENCY_BY_NUMBER: Final = {c.number: c.code for c in Currency if c.number is not None}


def decode_message(data: bytes) -> Message:
    """The message that ``data`` encodes; anything truncated, garbled or unknown raises ``MalformedMessage``."""
    if not isinstance(data, bytes | bytearray):
        raise MalformedMessage(f"an ISO 8583 message is bytes, not {type(data).__name__}")
    try:
        decoded, _ = iso8583.decode(bytes(data), SPEC)
    # KeyError: the bitmap announces a field our spec does not have; the others are pyiso8583's decode errors.
    except (iso8583.DecodeError, KeyError, ValueError) as error:
        where = f" at field {error.field}" if isinstance(error, iso8583.DecodeError) else ""
        raise MalformedMessage(f"not an ISO 8583 message of our spec{where}") from None
    fields = {key: value for key, value in decoded.items() if key not in ("h", "p")}
    check_formats(fields)
    return _parse(fields)


def decode_request(data: bytes) -> Request:
    """Decode ``data`` as a request (0100, 0200, 0220, 0400, 0800), as an issuer receives it."""
    message = decode_message(data)
    if not isinstance(message, AuthorizationRequest | RefundRequest | CaptureAdvice | ReversalRequest | EchoRequest):
        raise MalformedMessage(f"expected a request, got a {type(message).__name__}")
    return message


def decode_response(data: bytes) -> Response:
    """Decode ``data`` as a response (0110, 0210, 0230, 0410, 0810), as Kleline receives it."""
    message = decode_message(data)
    if not isinstance(
        message, AuthorizationResponse | RefundResponse | CaptureResponse | ReversalResponse | EchoResponse
    ):
        raise MalformedMessage(f"expected a response, got a {type(message).__name__}")
    return message


def _parse(fields: Mapping[str, str]) -> Message:
    kind = _TYPES.get(fields["t"])
    if kind is None:
        raise MalformedMessage(f"unknown message type {fields['t']!r}")
    needed = ["3"] if fields["t"] in PROCESSING else []
    for attribute in dataclasses.fields(kind):
        if attribute.name in PLAIN and attribute.default is dataclasses.MISSING:
            needed.append(PLAIN[attribute.name])
        needed += {"amount": ["4", "49"], "card": ["2", "14"]}.get(attribute.name, [])
    missing = [key for key in needed if key not in fields]
    if missing:
        raise MalformedMessage(f"a {fields['t']} message lacks field(s) {', '.join(sorted(missing, key=int))}")
    # Only a refund changes what the processing code means: a 0200 of another kind is not one of our messages.
    if fields["t"] == "0200" and fields["3"][:2] != REFUND[:2]:
        raise MalformedMessage("a 0200 message of our spec is a refund (processing code 20)")
    values: dict[str, Any] = {}
    for attribute in dataclasses.fields(kind):
        key = PLAIN.get(attribute.name, "")
        if key in fields:
            values[attribute.name] = fields[key].rstrip() if key in PADDED else fields[key]
        elif attribute.name == "amount":
            values["amount"] = _amount(fields)
        elif attribute.name == "card":
            values["card"] = _card(fields)
        elif attribute.name == "cvc_result":
            values["cvc_result"] = _cvc_result(fields)
        elif attribute.name == "authenticated":
            values["authenticated"] = _authenticated(fields)
        elif attribute.name == "reference":
            values["reference"] = _reference(fields)
    return kind(**values)


def _amount(fields: Mapping[str, str]) -> Money:
    code = _CURRENCY_BY_NUMBER.get(int(fields["49"]))
    if code is None:
        raise MalformedMessage("field 49 is not an ISO 4217 numeric currency")
    try:
        return Money(int(fields["4"]), code)
    except UnknownCurrency:
        raise MalformedMessage("field 49 names a currency without minor units") from None


def _card(fields: Mapping[str, str]) -> CardDetails:
    expiry = fields["14"]
    cvc = untlv(fields.get("48", "")).get(TAG_CVC)
    try:
        return CardDetails(fields["2"], int(expiry[2:]), 2000 + int(expiry[:2]), cvc)
    except InvalidCardDetails as error:
        raise MalformedMessage(f"the card in a {fields['t']} message is malformed ({error.param})") from None


def _cvc_result(fields: Mapping[str, str]) -> CvcResult:
    result = untlv(fields.get("48", "")).get(TAG_CVC_RESULT, CvcResult.NOT_CHECKED.value)
    if result not in {member.value for member in CvcResult}:
        raise MalformedMessage("field 48 has an unknown security code result")
    return CvcResult(result)


def _authenticated(fields: Mapping[str, str]) -> bool:
    eci = untlv(fields.get("48", "")).get(TAG_ECI, ECI_NOT_AUTHENTICATED)
    if eci not in (ECI_AUTHENTICATED, ECI_NOT_AUTHENTICATED):
        raise MalformedMessage("field 48 has an unknown electronic commerce indicator")
    return eci == ECI_AUTHENTICATED


def _reference(fields: Mapping[str, str]) -> str:
    reference = untlv(fields.get("48", "")).get(TAG_REFERENCE)
    if not reference:
        raise MalformedMessage(f"a {fields['t']} message lacks its reference (field 48, subelement 61)")
    return reference
