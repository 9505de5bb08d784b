"""The receipt document: its canonical bytes and the strict reading of what a party hands back."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kleline.money import Money
from kleline.receipts import MalformedReceipt, Receipt, canonical_bytes, loads_strict
from kleline.receipts.model import parse_receipt

ISSUED = datetime(2026, 1, 15, 9, 30, 0, 123456, tzinfo=UTC)


def a_receipt(**changes: Any) -> Receipt:
    fields: dict[str, Any] = {
        "receipt_id": "rcpt_1",
        "kind": "payment",
        "object_id": "pay_1",
        "payment_id": "pay_1",
        "merchant_id": "mer_1",
        "merchant_name": "Chez Émile",
        "customer_id": "cus_1",
        "amount": Money(1250, "EUR"),
        "commission": Money(44, "EUR"),
        "issued_at": ISSUED,
    }
    fields.update(changes)
    return Receipt(**fields)


def test_the_canonical_bytes_sort_keys_drop_whitespace_and_keep_utf8() -> None:
    expected = (
        '{"amount":{"amount":1250,"currency":"EUR"},"commission":{"amount":44,"currency":"EUR"},'
        '"customer":{"id":"cus_1"},"issued_at":"2026-01-15T09:30:00.123456Z","issuer":"Kleline",'
        '"kind":"payment","merchant":{"id":"mer_1","name":"Chez Émile"},"object_id":"pay_1",'
        '"payment_id":"pay_1","receipt_id":"rcpt_1"}'
    )
    assert canonical_bytes(a_receipt().document()) == expected.encode()


def test_the_canonical_bytes_leave_the_signature_out() -> None:
    document = a_receipt().document()
    signed = {**document, "signature": {"key_id": "k1", "algorithm": "Ed25519", "value": "x"}}
    assert canonical_bytes(signed) == canonical_bytes(document)


def test_the_canonical_bytes_do_not_depend_on_the_layout_of_the_file() -> None:
    document = a_receipt().document()
    pretty = json.dumps(dict(reversed(list(document.items()))), indent=4, ensure_ascii=True)
    assert canonical_bytes(loads_strict(pretty)) == canonical_bytes(document)


def test_a_document_reads_back_to_the_same_receipt() -> None:
    receipt = a_receipt()
    assert parse_receipt(receipt.document()) == receipt


def test_a_refund_names_itself_and_its_payment() -> None:
    refund = a_receipt(kind="refund", object_id="re_1", amount=Money(500, "EUR"), commission=Money(18, "EUR"))
    assert parse_receipt(refund.document()) == refund
    with pytest.raises(MalformedReceipt, match="refund"):
        a_receipt(kind="refund")  # object_id is the payment's: a refund must name the refund


@pytest.mark.parametrize(
    ("changes", "param"),
    [
        ({"kind": "chargeback"}, "kind"),
        ({"object_id": "pay_2"}, "object_id"),
        ({"receipt_id": "pay_1"}, "receipt_id"),
        ({"merchant_id": "not an id"}, "merchant_id"),
        ({"merchant_name": "  "}, "merchant.name"),
        ({"merchant_name": "bad \ud800 surrogate"}, "merchant.name"),
        ({"amount": Money(0, "EUR"), "commission": Money(0, "EUR")}, "amount.amount"),
        ({"commission": Money(44, "USD")}, "commission.currency"),
        ({"commission": Money(-1, "EUR")}, "commission.amount"),
        ({"commission": Money(1251, "EUR")}, "commission.amount"),
        ({"issued_at": datetime(2026, 1, 15)}, "issued_at"),
    ],
)
def test_a_receipt_breaking_a_rule_cannot_be_made(changes: dict[str, Any], param: str) -> None:
    with pytest.raises(MalformedReceipt) as caught:
        a_receipt(**changes)
    assert caught.value.param == param


def _drop(document: dict[str, Any], path: str) -> None:
    *parents, last = path.split(".")
    for part in parents:
        document = document[part]
    del document[last]


@pytest.mark.parametrize(
    "path",
    [
        "receipt_id",
        "kind",
        "object_id",
        "payment_id",
        "merchant",
        "merchant.id",
        "merchant.name",
        "customer",
        "customer.id",
        "amount",
        "amount.amount",
        "amount.currency",
        "commission",
        "commission.currency",
        "issued_at",
        "issuer",
    ],
)
def test_a_document_missing_any_field_is_malformed(path: str) -> None:
    document = a_receipt().document()
    _drop(document, path)
    with pytest.raises(MalformedReceipt, match="lacks"):
        parse_receipt(document)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("amount.amount", 12.5),
        ("amount.amount", "1250"),
        ("amount.amount", True),
        ("amount.currency", "eur"),
        ("amount.currency", "XAU"),
        ("issued_at", "2026-01-15T09:30:00Z"),  # Kleline always writes microseconds
        ("issued_at", "2026-01-15T09:30:00.123456+00:00"),
        ("issued_at", "2026-02-30T09:30:00.000000Z"),
        ("issuer", "Someone else"),
        ("merchant", "mer_1"),
        ("customer.id", 7),
        ("kind", None),
    ],
)
def test_a_field_of_the_wrong_type_or_form_is_malformed(path: str, value: Any) -> None:
    document = a_receipt().document()
    *parents, last = path.split(".")
    target = document
    for part in parents:
        target = target[part]
    target[last] = value
    with pytest.raises(MalformedReceipt):
        parse_receipt(document)


def test_an_unknown_field_is_refused_anywhere() -> None:
    document = a_receipt().document()
    with pytest.raises(MalformedReceipt, match="unknown field"):
        parse_receipt({**document, "note": "paid in full"})
    nested = copy.deepcopy(document)
    nested["merchant"]["iban"] = "FR76..."
    with pytest.raises(MalformedReceipt, match="unknown field"):
        parse_receipt(nested)


def test_json_with_a_duplicated_key_or_nan_is_refused() -> None:
    with pytest.raises(MalformedReceipt, match="twice"):
        loads_strict('{"amount": {"amount": 1, "amount": 9999, "currency": "EUR"}}')
    with pytest.raises(MalformedReceipt, match="NaN"):
        loads_strict('{"amount": NaN}')
    with pytest.raises(MalformedReceipt, match="not valid JSON"):
        loads_strict("{receipt")
    with pytest.raises(MalformedReceipt, match="JSON object"):
        parse_receipt(["rcpt_1"])


@settings(max_examples=200, deadline=None)
@given(
    name=st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=60).filter(str.strip),
    amount=st.integers(min_value=1, max_value=10**12),
    rate=st.integers(min_value=0, max_value=400),
)
def test_any_receipt_survives_a_trip_through_a_json_file(name: str, amount: int, rate: int) -> None:
    receipt = a_receipt(
        merchant_name=name, amount=Money(amount, "EUR"), commission=Money(amount * rate // 10_000, "EUR")
    )
    text = json.dumps(receipt.document(), indent=2, ensure_ascii=True)
    document = loads_strict(text)
    assert parse_receipt(document) == receipt
    assert canonical_bytes(document) == canonical_bytes(receipt.document())
