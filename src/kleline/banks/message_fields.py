"""The ISO 8583 field specification Kleline and the issuers share: lengths, character classes, codes, subelements.

Kept apart as data, so that encoding and decoding read the same table and cannot drift: ``SPEC`` gives pyiso8583
the lengths, ``FORMATS`` the character classes it does not check, ``PLAIN`` which message attributes are plain
fields, and field 48 carries its subelements as tag-length-value (``tlv``, ``untlv``).

Errors name a field, never its value: a PAN or a CVC must not reach a log through an exception message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from kleline.banks.errors import MalformedMessage

__all__ = [
    "ECI_AUTHENTICATED",
    "ECI_NOT_AUTHENTICATED",
    "FORMATS",
    "PADDED",
    "PLAIN",
    "PROCESSING",
    "PURCHASE",
    "REFUND",
    "SPEC",
    "TAG_CVC",
    "TAG_CVC_RESULT",
    "TAG_ECI",
    "TAG_REFERENCE",
    "check_formats",
    "tlv",
    "untlv",
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
FORMATS: Final[Mapping[str, re.Pattern[str]]] = {
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
PURCHASE: Final = "000000"  # processing code: goods and services, default account
REFUND: Final = "200000"  # processing code: credit (a refund) to the default account
TAG_REFERENCE: Final = "61"
TAG_CVC: Final = "92"
TAG_CVC_RESULT: Final = "87"
TAG_ECI: Final = "42"
"""Electronic commerce indicator: "05" when the cardholder passed strong authentication, "07" when not."""
ECI_AUTHENTICATED: Final = "05"
ECI_NOT_AUTHENTICATED: Final = "07"

# Each message is a dataclass whose attributes map to fields by name; the required fields are the attributes without
# a default. The exceptions are the card (fields 2, 14 and 48), the amount (4 and 49), the CVC result (48), the
# strong authentication flag (48) and a refund's reference (48).
PLAIN: Final = {
    "stan": "11",
    "local_time": "12",
    "rrn": "37",
    "approval_code": "38",
    "code": "39",
    "terminal_id": "41",
    "merchant_id": "42",
}
PADDED: Final = {"41": 8, "42": 15}  # fixed-length text: space-padded on the wire, stripped when read back
# The requests that carry a processing code, and the code each carries.
PROCESSING: Final[Mapping[str, str]] = {"0100": PURCHASE, "0200": REFUND, "0220": PURCHASE, "0400": PURCHASE}


def check_formats(fields: Mapping[str, str]) -> None:
    """Refuse a field whose characters are not of its format (``MalformedMessage`` names the field)."""
    for key, value in fields.items():
        pattern = FORMATS.get(key)
        if pattern is not None and not pattern.fullmatch(value):
            raise MalformedMessage(f"field {key} is not of its ISO 8583 format")


def tlv(elements: Mapping[str, str]) -> str:
    """Field 48's text for ``elements``: each as a two-digit tag, a two-digit length and the value."""
    return "".join(f"{tag}{len(value):02d}{value}" for tag, value in elements.items())


def untlv(data: str) -> dict[str, str]:
    """Field 48's subelements by tag; anything that is not a list of them raises ``MalformedMessage``."""
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
