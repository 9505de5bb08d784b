"""The journal's records of card traffic and set-up calls: what ``BankSimulator`` writes, and what a replay reads back.

A record must replay to the very answer that was given, and must hold nothing a copy of the state directory should
not reveal:

- an authorisation is written with its card number zeroed and sealed apart (``pan``, opened only with the key in
  ``DIR.key``), and its security code zeroed and forgotten (only its presence changes the issuer's answer);
- bytes (an ISO 8583 request, a SEPA file) are base64 in the JSON line;
- an approval code is a function of the RRN (``approval_code``), not random, so that a replayed authorisation
  answers the code the live one gave.

Pure functions: sealing and unsealing are handed in by the caller, which owns the journal and its key.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from collections.abc import Callable
from typing import Any

from kleline.banks.messages import AuthorizationRequest, Request, decode_request, encode_message
from kleline.banks.network import CardDetails
from kleline.money import Money

__all__ = ["approval_code", "b64", "card_record", "card_request", "money", "money_required", "unb64"]

_CODE_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def card_record(message: Request, seal: Callable[[str], str]) -> dict[str, str]:
    """The members of an ISO 8583 request's record: the request with any card number and security code zeroed
    (``request``), and the card number sealed apart (``pan``)."""
    if not isinstance(message, AuthorizationRequest):
        return {"request": b64(encode_message(message))}
    card = message.card
    cvc = None if card.cvc is None else "0" * len(card.cvc)
    masked = CardDetails("0" * len(card.number), card.exp_month, card.exp_year, cvc)
    journaled = encode_message(dataclasses.replace(message, card=masked))
    return {"request": b64(journaled), "pan": seal(card.number)}


def card_request(record: dict[str, Any], number: Callable[[dict[str, Any]], str]) -> bytes:
    """The request bytes a record replays, its card number put back (``number`` opens the record's ``pan``)."""
    request = unb64(record["request"])
    if "pan" not in record:
        return request
    message = decode_request(request)
    if not isinstance(message, AuthorizationRequest):
        raise ValueError("a card number sealed beside a request that carries none")
    card = dataclasses.replace(message.card, number=number(record))
    return encode_message(dataclasses.replace(message, card=card))


def approval_code(rrn: str) -> str:
    """The approval code of an approved authorisation, a function of its RRN: a replayed journal gives the codes
    that were answered before the restart (the issuers' random ones would differ)."""
    number = int.from_bytes(hashlib.sha256(f"approval:{rrn}".encode()).digest()[:8], "big")
    digits = []
    for _ in range(6):
        number, digit = divmod(number, 36)
        digits.append(_CODE_ALPHABET[digit])
    return "".join(digits)


def b64(data: bytes) -> str:
    """Bytes as a JSON string."""
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    """The bytes of a JSON string written by ``b64`` (anything else is a ``ValueError``)."""
    return base64.b64decode(text.encode("ascii"), validate=True)


def money(record: dict[str, Any]) -> Money | None:
    """The amount a record carries (``minor`` and ``currency``), if any."""
    return Money(record["minor"], record["currency"]) if "minor" in record else None


def money_required(record: dict[str, Any]) -> Money:
    """The amount a record must carry (a ``KeyError`` when it has none)."""
    found = money(record)
    if found is None:
        raise KeyError("minor")
    return found
