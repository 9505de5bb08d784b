"""The receipt document, its canonical bytes, and the strict reading of a document someone hands back.

A receipt names the parties, the amount, the commission and the time of one captured payment or one refund::

    {"receipt_id": "rcpt_...", "kind": "payment" | "refund", "object_id": "pay_..." | "re_...",
     "payment_id": "pay_...", "merchant": {"id": "mer_...", "name": "..."}, "customer": {"id": "cus_..."},
     "amount": {"amount": 1250, "currency": "EUR"}, "commission": {"amount": 44, "currency": "EUR"},
     "issued_at": "2026-01-15T09:30:00.000000Z", "issuer": "Kleline"}

For a payment, ``object_id`` is the payment's id, ``amount`` what was captured and ``commission`` what Kleline kept;
for a refund, ``object_id`` is the refund's id, ``amount`` what was given back to the customer and ``commission``
the part of Kleline's commission returned with it. Amounts are integers in minor units, as everywhere in the API.

Canonical bytes (what is signed): the document without ``signature``, serialised as JSON with keys sorted, no
whitespace (separators ``,`` and ``:``), non-ASCII characters left as they are, in UTF-8. For these documents (ASCII
keys, strings and integers only, no floats) that is exactly RFC 8785 (JSON Canonicalization Scheme), so a merchant
can check a receipt with any JCS library and any Ed25519 implementation.

Reading is strict on purpose: an unknown or missing field, a duplicated key, a float, a boolean where an integer is
expected or a time in another form is refused, so that what a verifier shows is exactly what was signed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

from kleline.clock import to_rfc3339
from kleline.errors import KlelineError
from kleline.money import Money

__all__ = [
    "ISSUER",
    "MalformedReceipt",
    "Receipt",
    "ReceiptError",
    "ReceiptKind",
    "canonical_bytes",
    "loads_strict",
    "parse_receipt",
]

ReceiptKind = Literal["payment", "refund"]
ISSUER: Final = "Kleline"
KINDS: Final = ("payment", "refund")

# The one form ``to_rfc3339`` writes: a verifier refuses any other, as it could not have been signed by Kleline.
_ISSUED_AT: Final = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
_ID: Final = re.compile(r"^[a-z]{1,8}_[A-Za-z0-9_-]{1,64}$")
_FIELDS: Final = frozenset(
    {
        "receipt_id",
        "kind",
        "object_id",
        "payment_id",
        "merchant",
        "customer",
        "amount",
        "commission",
        "issued_at",
        "issuer",
    }
)


class ReceiptError(KlelineError):
    """A receipt cannot be issued, read or verified."""

    code = "receipt_error"
    status = 400


class MalformedReceipt(ReceiptError):
    """The document is not a receipt: a field is missing, unknown, of the wrong type or in the wrong form."""

    code = "malformed_receipt"


@dataclass(frozen=True, slots=True)
class Receipt:
    """One captured payment or one refund, as Kleline attests it (the document, without its signature)."""

    receipt_id: str
    kind: ReceiptKind
    object_id: str
    payment_id: str
    merchant_id: str
    merchant_name: str
    customer_id: str
    amount: Money
    commission: Money
    issued_at: datetime

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise MalformedReceipt(f"kind must be 'payment' or 'refund', not {self.kind!r}", param="kind")
        for name in ("receipt_id", "object_id", "payment_id", "merchant_id", "customer_id"):
            value = getattr(self, name)
            if not isinstance(value, str) or not _ID.match(value):
                raise MalformedReceipt(f"{name} must be a prefixed id such as pay_..., not {value!r}", param=name)
        if not self.receipt_id.startswith("rcpt_"):
            raise MalformedReceipt("receipt_id must start with rcpt_", param="receipt_id")
        if self.kind == "payment" and self.object_id != self.payment_id:
            raise MalformedReceipt("a payment's receipt has object_id equal to payment_id", param="object_id")
        if self.kind == "refund" and self.object_id == self.payment_id:
            raise MalformedReceipt("a refund's receipt names the refund, not the payment", param="object_id")
        if not isinstance(self.merchant_name, str) or not self.merchant_name.strip():
            raise MalformedReceipt("merchant.name must be a non-empty string", param="merchant.name")
        _check_text(self.merchant_name, "merchant.name")
        if not isinstance(self.amount, Money) or not isinstance(self.commission, Money):
            raise MalformedReceipt("amount and commission must be Money", param="amount")
        if self.amount.minor <= 0:
            raise MalformedReceipt("amount must be positive", param="amount.amount")
        if self.commission.currency != self.amount.currency:
            raise MalformedReceipt("commission must be in the amount's currency", param="commission.currency")
        if not 0 <= self.commission.minor <= self.amount.minor:
            raise MalformedReceipt("commission must be between zero and the amount", param="commission.amount")
        if not isinstance(self.issued_at, datetime) or self.issued_at.tzinfo is None:
            raise MalformedReceipt("issued_at must be a timezone-aware datetime", param="issued_at")

    def document(self) -> dict[str, Any]:
        """The document as JSON-ready data (what is signed, once made canonical)."""
        return {
            "receipt_id": self.receipt_id,
            "kind": self.kind,
            "object_id": self.object_id,
            "payment_id": self.payment_id,
            "merchant": {"id": self.merchant_id, "name": self.merchant_name},
            "customer": {"id": self.customer_id},
            "amount": {"amount": self.amount.minor, "currency": self.amount.currency},
            "commission": {"amount": self.commission.minor, "currency": self.commission.currency},
            "issued_at": to_rfc3339(self.issued_at),
            "issuer": ISSUER,
        }


def _check_text(value: str, param: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate has no UTF-8 form, hence no canonical bytes
        raise MalformedReceipt(f"{param} is not valid Unicode text", param=param) from None


def canonical_bytes(document: Mapping[str, Any]) -> bytes:
    """The bytes a signature covers: ``document`` minus ``signature``, keys sorted, no whitespace, UTF-8."""
    content = {key: value for key, value in document.items() if key != "signature"}
    try:
        text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        return text.encode("utf-8")
    except (TypeError, ValueError) as error:  # UnicodeEncodeError is a ValueError
        raise MalformedReceipt(f"the document has no canonical form: {error}") from None


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            # Parsers disagree on which duplicate wins: refuse, lest a reader see another amount than was signed.
            raise MalformedReceipt(f"the key {key!r} appears twice in one object")
        result[key] = value
    return result


def _refuse_constant(name: str) -> Any:
    raise MalformedReceipt(f"{name} is not a JSON number")


def loads_strict(text: str | bytes) -> Any:
    """Parse JSON refusing duplicate keys and NaN/Infinity (``MalformedReceipt``)."""
    try:
        return json.loads(text, object_pairs_hook=_refuse_duplicates, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:  # MalformedReceipt from the hooks is not a ValueError: it passes
        raise MalformedReceipt(f"not valid JSON: {error}") from None


def _object(value: object, param: str, fields: frozenset[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MalformedReceipt(f"{param} must be a JSON object", param=param)
    missing = sorted(fields - value.keys())
    if missing:
        raise MalformedReceipt(f"{param} lacks {', '.join(missing)}", param=param)
    unknown = sorted(str(key) for key in value.keys() - fields)
    if unknown:
        raise MalformedReceipt(f"{param} has unknown field(s) {', '.join(unknown)}", param=param)
    return value


def _string(value: object, param: str) -> str:
    if not isinstance(value, str):
        raise MalformedReceipt(f"{param} must be a string", param=param)
    return value


def _money(value: object, param: str) -> Money:
    fields = _object(value, param, frozenset({"amount", "currency"}))
    minor = fields["amount"]
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise MalformedReceipt(f"{param}.amount must be an integer in minor units", param=f"{param}.amount")
    currency = _string(fields["currency"], f"{param}.currency")
    try:
        return Money(minor, currency)
    except ValueError as error:
        raise MalformedReceipt(f"{param}.currency: {error}", param=f"{param}.currency") from None


def _issued_at(value: object) -> datetime:
    text = _string(value, "issued_at")
    if not _ISSUED_AT.match(text):
        raise MalformedReceipt("issued_at must read like 2026-01-15T09:30:00.000000Z (UTC)", param="issued_at")
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        raise MalformedReceipt(f"issued_at {text!r} is not a real time", param="issued_at") from None


def parse_receipt(document: object) -> Receipt:
    """Read a receipt document (with or without its ``signature``), strictly; ``MalformedReceipt`` otherwise."""
    if not isinstance(document, Mapping):
        raise MalformedReceipt("a receipt is a JSON object")
    fields = _object({k: v for k, v in document.items() if k != "signature"}, "receipt", _FIELDS)
    if fields["issuer"] != ISSUER:
        raise MalformedReceipt(f"issuer must be {ISSUER!r}", param="issuer")
    kind = _string(fields["kind"], "kind")
    if kind not in KINDS:
        raise MalformedReceipt(f"kind must be 'payment' or 'refund', not {kind!r}", param="kind")
    merchant = _object(fields["merchant"], "merchant", frozenset({"id", "name"}))
    customer = _object(fields["customer"], "customer", frozenset({"id"}))
    return Receipt(
        receipt_id=_string(fields["receipt_id"], "receipt_id"),
        kind="payment" if kind == "payment" else "refund",
        object_id=_string(fields["object_id"], "object_id"),
        payment_id=_string(fields["payment_id"], "payment_id"),
        merchant_id=_string(merchant["id"], "merchant.id"),
        merchant_name=_string(merchant["name"], "merchant.name"),
        customer_id=_string(customer["id"], "customer.id"),
        amount=_money(fields["amount"], "amount"),
        commission=_money(fields["commission"], "commission"),
        issued_at=_issued_at(fields["issued_at"]),
    )
