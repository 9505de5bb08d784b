"""Writing a message: from a value (``message_types``) to its ISO 8583 fields, then to bytes.

Kept apart from decoding because the two walk the same table (``message_fields``) in opposite directions, and
each direction has its own checks: here, that a value fits its field before anything is sent.
"""

from __future__ import annotations

import dataclasses

import iso8583
from iso4217 import Currency

from kleline.banks.errors import MalformedMessage
from kleline.banks.message_fields import (
    ECI_AUTHENTICATED,
    ECI_NOT_AUTHENTICATED,
    PADDED,
    PLAIN,
    PROCESSING,
    SPEC,
    TAG_CVC,
    TAG_CVC_RESULT,
    TAG_ECI,
    TAG_REFERENCE,
    check_formats,
    tlv,
)
from kleline.banks.message_types import MTI, Message
from kleline.banks.network import CvcResult
from kleline.money import Money

__all__ = ["encode_message"]


def encode_message(message: Message) -> bytes:
    """The ISO 8583 bytes of ``message``; values that do not fit the spec raise ``MalformedMessage``."""
    fields = _fields(message)
    check_formats(fields)
    try:
        raw, _ = iso8583.encode(fields, SPEC)
    except iso8583.EncodeError as error:
        raise MalformedMessage(f"cannot encode field {error.field} of a {fields['t']} message") from None
    return bytes(raw)


def _fields(message: Message) -> dict[str, str]:
    fields = {"t": MTI[type(message)]}
    private: dict[str, str] = {}  # field 48's subelements
    if fields["t"] in PROCESSING:
        fields["3"] = PROCESSING[fields["t"]]
    for attribute in dataclasses.fields(message):
        value = getattr(message, attribute.name)
        if attribute.name in PLAIN and value is not None:
            key = PLAIN[attribute.name]
            fields[key] = value.ljust(PADDED.get(key, 0))
        elif attribute.name == "amount":
            fields |= _amount_fields(value)
        elif attribute.name == "card":
            fields |= {"2": value.number, "14": f"{value.exp_year % 100:02d}{value.exp_month:02d}"}
            if value.cvc is not None:
                private[TAG_CVC] = value.cvc
        elif attribute.name == "cvc_result" and value is not CvcResult.NOT_CHECKED:
            private[TAG_CVC_RESULT] = value.value
        elif attribute.name == "authenticated":
            private[TAG_ECI] = ECI_AUTHENTICATED if value else ECI_NOT_AUTHENTICATED
        elif attribute.name == "reference":
            if not isinstance(value, str) or not 0 < len(value) <= 99:
                raise MalformedMessage("a refund's reference is 1 to 99 characters")
            private[TAG_REFERENCE] = value
    if private:
        fields["48"] = tlv(private)
    return fields


def _amount_fields(amount: Money) -> dict[str, str]:
    if not 0 <= amount.minor < 10**12:
        raise MalformedMessage("field 4 holds an amount from 0 to 12 digits of minor units")
    return {"4": f"{amount.minor:012d}", "49": f"{Currency(amount.currency).number:03d}"}
