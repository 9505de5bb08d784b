"""Receipts in the database, on each backend: issued in the caller's transaction, once per object, kept verbatim."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from kleline.db.engine import Database
from kleline.errors import NotFound
from kleline.money import Money
from kleline.receipts import (
    MalformedReceipt,
    PublicKeys,
    Receipts,
    SignedReceipt,
    SigningKeys,
    canonical_bytes,
    generate_signing_key,
    verify,
)

from ..helpers import count_rows

K1 = generate_signing_key("k1")
K2 = generate_signing_key("k2")
WHEN = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)


PSEUDONYM = "cpn_" + "a" * 32  # the customer as the merchant knows them (kleline.privacy.pseudonyms)


def issue(
    receipts: Receipts, db: Database, object_id: str = "pay_1", amount: int = 1250, **changes: object
) -> SignedReceipt:
    fields: dict[str, object] = {
        "kind": "payment",
        "object_id": object_id,
        "payment_id": object_id,
        "merchant_id": "mer_1",
        "merchant_name": "Épicerie fine",
        "customer_id": "cus_1",
        "customer_ref": PSEUDONYM,
        "amount": Money(amount, "EUR"),
        "commission": Money(amount * 350 // 10_000, "EUR"),
        "issued_at": WHEN,
    }
    fields.update(changes)
    with db.transaction() as tx:
        return receipts.issue(tx, **fields)  # type: ignore[arg-type]


@pytest.fixture
def receipts(db: Database) -> Receipts:
    return Receipts(db, SigningKeys.parse(K1))


def test_an_issued_receipt_reads_back_signed_and_verifiable(receipts: Receipts, db: Database) -> None:
    issued = issue(receipts, db)
    assert issued.receipt.receipt_id.startswith("rcpt_")
    stored = receipts.get("pay_1")
    assert stored == issued
    receipt = verify(stored.to_json(), receipts.public_keys())
    assert (receipt.merchant_name, receipt.amount, receipt.commission) == (
        "Épicerie fine",
        Money(1250, "EUR"),
        Money(43, "EUR"),
    )
    assert receipt.issued_at == WHEN


def test_issuing_again_returns_the_first_receipt_unchanged(receipts: Receipts, db: Database) -> None:
    first = issue(receipts, db)
    again = issue(receipts, db, amount=9999, issued_at=datetime(2027, 1, 1, tzinfo=UTC))
    assert again == first
    assert receipts.get("pay_1") == first
    assert count_rows(db, "receipts") == 1


def test_a_refund_gets_its_own_receipt_beside_its_payment(receipts: Receipts, db: Database) -> None:
    issue(receipts, db)
    refund = issue(receipts, db, object_id="re_1", payment_id="pay_1", kind="refund", amount=500)
    assert refund.receipt.kind == "refund"
    assert receipts.get("re_1") == refund
    assert receipts.get("pay_1").receipt.kind == "payment"
    assert count_rows(db, "receipts") == 2


def test_a_receipt_rolled_back_with_its_transaction_was_never_issued(receipts: Receipts, db: Database) -> None:
    with pytest.raises(RuntimeError, match="capture failed"), db.transaction() as tx:
        receipts.issue(
            tx,
            kind="payment",
            object_id="pay_1",
            payment_id="pay_1",
            merchant_id="mer_1",
            merchant_name="Épicerie fine",
            customer_id="cus_1",
            customer_ref=PSEUDONYM,
            amount=Money(1250, "EUR"),
            commission=Money(44, "EUR"),
            issued_at=WHEN,
        )
        raise RuntimeError("capture failed")
    with pytest.raises(NotFound):
        receipts.get("pay_1")


def test_an_unknown_object_has_no_receipt(receipts: Receipts) -> None:
    with pytest.raises(NotFound, match="pay_nope"):
        receipts.get("pay_nope")


def test_an_invalid_receipt_is_refused_and_nothing_is_written(receipts: Receipts, db: Database) -> None:
    with pytest.raises(MalformedReceipt):
        issue(receipts, db, commission=Money(5000, "EUR"))
    assert count_rows(db, "receipts") == 0


def test_the_database_keeps_the_exact_signed_bytes_and_no_private_key(receipts: Receipts, db: Database) -> None:
    issued = issue(receipts, db)
    with db.transaction(write=False) as tx:
        row = tx.fetchone("SELECT document, key_id, signature FROM receipts WHERE object_id = 'pay_1'")
    assert row[0].encode("utf-8") == canonical_bytes(issued.to_json())
    assert (row[1], row[2]) == ("k1", issued.signature.value)
    with db.transaction(write=False) as tx:
        everything = repr(tx.fetchall("SELECT * FROM receipts"))
    assert K1.partition(":")[2] not in everything


def test_an_altered_row_no_longer_verifies(receipts: Receipts, db: Database) -> None:
    issue(receipts, db)
    with db.transaction() as tx:
        tx.execute("UPDATE receipts SET document = REPLACE(document, '\"amount\":1250', '\"amount\":125000')")
    with pytest.raises(Exception, match="signature does not match"):
        verify(receipts.get("pay_1").to_json(), receipts.public_keys())


def test_after_a_key_rotation_old_and_new_receipts_both_verify(db: Database) -> None:
    old = issue(Receipts(db, SigningKeys.parse(K1)), db, object_id="pay_old")
    rotated = Receipts(db, SigningKeys.parse(f"{K2},{K1}"))
    new = issue(rotated, db, object_id="pay_new")
    assert (old.signature.key_id, new.signature.key_id) == ("k1", "k2")
    published = PublicKeys.from_json(rotated.public_keys().to_json())
    assert [(key.key_id, key.active) for key in published] == [("k2", True), ("k1", False)]
    for object_id in ("pay_old", "pay_new"):
        verify(rotated.get(object_id).to_json(), published)


@pytest.mark.slow
def test_concurrent_issues_for_one_payment_leave_one_receipt(receipts: Receipts, db: Database) -> None:
    results: list[SignedReceipt] = []
    failures: list[BaseException] = []
    start = threading.Barrier(8)

    def worker(amount: int) -> None:
        try:
            start.wait()
            results.append(issue(receipts, db, amount=amount))
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=worker, args=(1000 + i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(results) == 8 and all(result == results[0] for result in results)
    assert receipts.get("pay_1") == results[0]
    assert count_rows(db, "receipts") == 1
