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

Errors name a field, never its value: a PAN or a CVC must not reach a log through an exception message.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import iso8583
from iso4217 import Currency

from kleline.banks.errors import InvalidCardDetails, MalformedMessage
from kleline.banks.network import CardDetails, CvcResult
from kleline.money import Money, UnknownCurrency

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


def _fixed(length: int, desc: str) -> dict[str, Any]:
    return {"data_enc": "ascii", "len_enc": "ascii", "len_type": 0, "max_len": length, "desc": desc}


def _variable(len_type: int, max_len: int, desc: str) -> dict[str, Any]:
    return {"data_enc": "ascii", "len_enc": "ascii", "len_type": len_type, "max_len": max_len, "desc": desc}


SPEC: Final[Mapping[str, Mapping[str, Any]]] = {
    "h": _fixed(0, "Message Header"),
    "t": _fixed(4, "Message Type Identifier"),
    "p": {"data_enc": "b", "len_enc": "ascii", "len_type": 0, "max_len": 8, "desc": "Bitmap, Primary"},
    "2": _variable(2, 19, "Primary Account Number"),
    "3": _fixed(6, "Processing Code"),
    "4": _fixed(12, "Amount, Transaction"),
    "11": _fixed(6, "System Trace Audit Number"),
    "12": _fixed(6, "Time, Local Transaction"),
    "14": _fixed(4, "Date, Expiration"),
    "37": _fixed(12, "Retrieval Reference Number"),
    "38": _fixed(6, "Authorization ID Response"),
    "39": _fixed(2, "Response Code"),
    "41": _fixed(8, "Card Acceptor Terminal ID"),
    "42": _fixed(15, "Card Acceptor ID Code"),
    "48": _variable(3, 999, "Additional Data, Private"),
    "49": _fixed(3, "Currency Code, Transaction"),
}

# pyiso8583 checks lengths, not contents: the character classes of each field are checked here, both ways.
_FORMATS: Final[Mapping[str, re.Pattern[str]]] = {
    "2": re.compile(r"[0-9]{12,19}"),
    "3": re.compile(r"[0-9]{6}"),
    "4": re.compile(r"[0-9]{12}"),
    "11": re.compile(r"[0-9]{6}"),
    "12": re.compile(r"([01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]"),
    "14": re.compile(r"[0-9]{2}(0[1-9]|1[0-2])"),
    "37": re.compile(r"[A-Z0-9]{12}"),
    "38": re.compile(r"[A-Z0-9]{6}"),
    "39": re.compile(r"[A-Z0-9]{2}"),
    "41": re.compile(r"[ -~]{8}"),
    "42": re.compile(r"[ -~]{15}"),
    "48": re.compile(r"[ -~]{0,999}"),
    "49": re.compile(r"[0-9]{3}"),
}
_PURCHASE: Final = "000000"  # processing code: goods and services, default account
_REFUND: Final = "200000"  # processing code: credit (a refund) to the default account
_TAG_REFERENCE: Final = "61"
_TAG_CVC: Final = "92"
_TAG_CVC_RESULT: Final = "87"
_TAG_ECI: Final = "42"
"""Electronic commerce indicator: "05" when the cardholder passed strong authentication, "07" when not."""
_ECI_AUTHENTICATED: Final = "05"
_ECI_NOT_AUTHENTICATED: Final = "07"
_CURRENCY_BY_NUMBER: Final = {c.number: c.code for c in Currency if c.number is not None}


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


def encode_message(message: Message) -> bytes:
    """The ISO 8583 bytes of ``message``; values that do not fit the spec raise ``MalformedMessage``."""
    fields = _fields(message)
    _check_formats(fields)
    try:
        raw, _ = iso8583.encode(fields, SPEC)
    except iso8583.EncodeError as error:
        raise MalformedMessage(f"cannot encode field {error.field} of a {fields['t']} message") from None
    return bytes(raw)


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
    _check_formats(fields)
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


# Each message is a dataclass whose attributes map to fields by name; the required fields are the attributes without
# a default. The exceptions are the card (fields 2, 14 and 48), the amount (4 and 49), the CVC result (48), the
# strong authentication flag (48) and a refund's reference (48).
_MTI: Final[Mapping[type[Message], str]] = {
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
_TYPES: Final = {mti: kind for kind, mti in _MTI.items()}
_PLAIN: Final = {
    "stan": "11",
    "local_time": "12",
    "rrn": "37",
    "approval_code": "38",
    "code": "39",
    "terminal_id": "41",
    "merchant_id": "42",
}
_PADDED: Final = {"41": 8, "42": 15}  # fixed-length text: space-padded on the wire, stripped when read back
# The requests that carry a processing code, and the code each carries.
_PROCESSING: Final[Mapping[str, str]] = {"0100": _PURCHASE, "0200": _REFUND, "0220": _PURCHASE, "0400": _PURCHASE}


def _fields(message: Message) -> dict[str, str]:
    fields = {"t": _MTI[type(message)]}
    private: dict[str, str] = {}  # field 48's subelements
    if fields["t"] in _PROCESSING:
        fields["3"] = _PROCESSING[fields["t"]]
    for attribute in dataclasses.fields(message):
        value = getattr(message, attribute.name)
        if attribute.name in _PLAIN and value is not None:
            key = _PLAIN[attribute.name]
            fields[key] = value.ljust(_PADDED.get(key, 0))
        elif attribute.name == "amount":
            fields |= _amount_fields(value)
        elif attribute.name == "card":
            fields |= {"2": value.number, "14": f"{value.exp_year % 100:02d}{value.exp_month:02d}"}
            if value.cvc is not None:
                private[_TAG_CVC] = value.cvc
        elif attribute.name == "cvc_result" and value is not CvcResult.NOT_CHECKED:
            private[_TAG_CVC_RESULT] = value.value
        elif attribute.name == "authenticated":
            private[_TAG_ECI] = _ECI_AUTHENTICATED if value else _ECI_NOT_AUTHENTICATED
        elif attribute.name == "reference":
            if not isinstance(value, str) or not 0 < len(value) <= 99:
                raise MalformedMessage("a refund's reference is 1 to 99 characters")
            private[_TAG_REFERENCE] = value
    if private:
        fields["48"] = _tlv(private)
    return fields


def _parse(fields: Mapping[str, str]) -> Message:
    kind = _TYPES.get(fields["t"])
    if kind is None:
        raise MalformedMessage(f"unknown message type {fields['t']!r}")
    needed = ["3"] if fields["t"] in _PROCESSING else []
    for attribute in dataclasses.fields(kind):
        if attribute.name in _PLAIN and attribute.default is dataclasses.MISSING:
            needed.append(_PLAIN[attribute.name])
        needed += {"amount": ["4", "49"], "card": ["2", "14"]}.get(attribute.name, [])
    missing = [key for key in needed if key not in fields]
    if missing:
        raise MalformedMessage(f"a {fields['t']} message lacks field(s) {', '.join(sorted(missing, key=int))}")
    # Only a refund changes what the processing code means: a 0200 of another kind is not one of our messages.
    if fields["t"] == "0200" and fields["3"][:2] != _REFUND[:2]:
        raise MalformedMessage("a 0200 message of our spec is a refund (processing code 20)")
    values: dict[str, Any] = {}
    for attribute in dataclasses.fields(kind):
        key = _PLAIN.get(attribute.name, "")
        if key in fields:
            values[attribute.name] = fields[key].rstrip() if key in _PADDED else fields[key]
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


def _amount_fields(amount: Money) -> dict[str, str]:
    if not 0 <= amount.minor < 10**12:
        raise MalformedMessage("field 4 holds an amount from 0 to 12 digits of minor units")
    return {"4": f"{amount.minor:012d}", "49": f"{Currency(amount.currency).number:03d}"}


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
    cvc = _untlv(fields.get("48", "")).get(_TAG_CVC)
    try:
        return CardDetails(fields["2"], int(expiry[2:]), 2000 + int(expiry[:2]), cvc)
    except InvalidCardDetails as error:
        raise MalformedMessage(f"the card in a {fields['t']} message is malformed ({error.param})") from None


def _cvc_result(fields: Mapping[str, str]) -> CvcResult:
    result = _untlv(fields.get("48", "")).get(_TAG_CVC_RESULT, CvcResult.NOT_CHECKED.value)
    if result not in {member.value for member in CvcResult}:
        raise MalformedMessage("field 48 has an unknown security code result")
    return CvcResult(result)


def _authenticated(fields: Mapping[str, str]) -> bool:
    eci = _untlv(fields.get("48", "")).get(_TAG_ECI, _ECI_NOT_AUTHENTICATED)
    if eci not in (_ECI_AUTHENTICATED, _ECI_NOT_AUTHENTICATED):
        raise MalformedMessage("field 48 has an unknown electronic commerce indicator")
    return eci == _ECI_AUTHENTICATED


def _reference(fields: Mapping[str, str]) -> str:
    reference = _untlv(fields.get("48", "")).get(_TAG_REFERENCE)
    if not reference:
        raise MalformedMessage(f"a {fields['t']} message lacks its reference (field 48, subelement 61)")
    return reference


def _check_formats(fields: Mapping[str, str]) -> None:
    for key, value in fields.items():
        pattern = _FORMATS.get(key)
        if pattern is not None and not pattern.fullmatch(value):
            raise MalformedMessage(f"field {key} is not of its ISO 8583 format")


def _tlv(elements: Mapping[str, str]) -> str:
    return "".join(f"{tag}{len(value):02d}{value}" for tag, value in elements.items())


def _untlv(data: str) -> dict[str, str]:
    elements: dict[str, str] = {}
    position = 0
    while position < len(data):
        header = data[position : position + 4]
        if len(header) < 4 or not header.isdigit():
            raise MalformedMessage("field 48 is not a list of tag-length-value subelements")
        end = position + 4 + int(header[2:])
        if end > len(data):
            raise MalformedMessage("field 48 has a truncated subelement")
        elements[header[:2]] = data[position + 4 : end]
        position = end
    return elements
