"""What reconciliation does with a payout's statement lines: the debit that pays it, the return that sends it back.

Each call runs inside the caller's transaction, as reconciliation runs it, and is idempotent on the line.
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from kleline.bootstrap import Kleline
from kleline.merchants.model import balance_account
from kleline.settlement import Payout, PayoutStateConflict, UnknownPayout

from ...operator_keys import OPERATOR
from ..helpers import book_snapshot
from .conftest import balance, balanced, fund, merchant

BOOKED = date(2026, 1, 16)


def sent_payout(kleline: Kleline, minor: int = 4_200) -> Payout:
    """A merchant paid out ``minor`` by today's run: its payout, in transit."""
    shop = merchant(kleline, "Librairie Kléber")
    fund(kleline, shop, minor)
    (payout,) = kleline.settlement.run_payouts(kleline.settlement.run(actor=OPERATOR).id)
    return payout


def paid(kleline: Kleline, payout: Payout, line_ref: str = "NTRY-1") -> None:
    with kleline.db.transaction() as tx:
        found = kleline.settlement.payout_by_end_to_end(tx, payout.end_to_end_id)
        assert found is not None
        kleline.settlement.confirm_paid_in(tx, found, line_ref=line_ref, booked_on=BOOKED)


def returned(kleline: Kleline, payout: Payout, line_ref: str = "NTRY-2") -> None:
    with kleline.db.transaction() as tx:
        kleline.settlement.confirm_returned_in(tx, payout, line_ref=line_ref, reason="AC04")


def events(kleline: Kleline, payout: Payout) -> list[tuple[str, dict[str, object]]]:
    with kleline.db.transaction(write=False) as tx:
        rows = tx.fetchall("SELECT type, data FROM events WHERE object_id = :id ORDER BY seq", {"id": payout.id})
    return [(str(kind), json.loads(data)) for kind, data in rows]


def test_the_debit_line_pays_the_payout_moves_in_transit_to_safeguarding_and_tells_the_merchant(
    kleline: Kleline,
) -> None:
    payout = sent_payout(kleline)
    bank = kleline.own_account

    with kleline.db.transaction() as tx:
        found = kleline.settlement.payout_by_end_to_end(tx, payout.end_to_end_id)
        assert found == payout
        entry = kleline.settlement.confirm_paid_in(tx, payout, line_ref="NTRY-1", booked_on=BOOKED)

    assert entry.id == f"{payout.id}:paid"
    assert balance(kleline, bank.in_transit_code) == 0
    assert balance(kleline, bank.safeguarding_code) == -4_200  # nothing came in yet in this story: the bank is short
    now = kleline.settlement.get_payout(payout.id)
    assert (now.status, now.booked_on, now.paid_line_ref) == ("paid", BOOKED, "NTRY-1")
    ((kind, data),) = events(kleline, payout)
    assert kind == "payout.paid"
    assert (data["id"], data["status"], data["amount"], data["booked_on"]) == (payout.id, "paid", 4_200, "2026-01-16")
    assert balanced(kleline)


def test_the_same_debit_line_twice_changes_nothing_and_another_one_is_a_conflict(kleline: Kleline) -> None:
    payout = sent_payout(kleline)
    paid(kleline, payout)
    before = book_snapshot(kleline.db)

    with kleline.db.transaction() as tx:
        again = kleline.settlement.confirm_paid_in(tx, payout, line_ref="NTRY-1", booked_on=BOOKED)
    assert again.id == f"{payout.id}:paid"
    with pytest.raises(PayoutStateConflict), kleline.db.transaction() as tx:
        kleline.settlement.confirm_paid_in(tx, payout, line_ref="NTRY-9", booked_on=BOOKED)

    assert book_snapshot(kleline.db) == before
    assert [kind for kind, _ in events(kleline, payout)] == ["payout.paid"]


def test_a_returned_payout_fails_and_the_next_run_pays_the_merchant_again(kleline: Kleline) -> None:
    payout = sent_payout(kleline)
    paid(kleline, payout)

    with kleline.db.transaction() as tx:
        entry = kleline.settlement.confirm_returned_in(tx, payout, line_ref="NTRY-2", reason="AC04")

    assert entry.id == f"{payout.id}:returned"
    assert entry.metadata["return_reason"] == "AC04"
    assert balance(kleline, balance_account(payout.merchant_id)) == 4_200
    assert balance(kleline, kleline.own_account.safeguarding_code) == 0
    failed = kleline.settlement.get_payout(payout.id)
    assert (failed.status, failed.failure_reason, failed.return_line_ref) == ("failed", "AC04", "NTRY-2")
    assert [kind for kind, _ in events(kleline, payout)] == ["payout.paid", "payout.failed"]
    before = book_snapshot(kleline.db)
    returned(kleline, payout)  # the same line again
    assert book_snapshot(kleline.db) == before
    assert balanced(kleline)


def test_a_return_before_its_debit_or_a_second_return_is_a_conflict(kleline: Kleline) -> None:
    payout = sent_payout(kleline)
    before = book_snapshot(kleline.db)

    with pytest.raises(PayoutStateConflict):
        returned(kleline, payout)
    assert book_snapshot(kleline.db) == before
    assert kleline.settlement.get_payout(payout.id).status == "in_transit"

    paid(kleline, payout)
    returned(kleline, payout)
    with pytest.raises(PayoutStateConflict):
        returned(kleline, payout, line_ref="NTRY-3")


def test_end_to_end_ids_that_name_no_payout_find_nothing(kleline: Kleline) -> None:
    payout = sent_payout(kleline)
    with kleline.db.transaction() as tx:
        assert kleline.settlement.payout_by_end_to_end(tx, "po_" + "0" * 32) is None
        assert kleline.settlement.payout_by_end_to_end(tx, "dd_" + payout.id[3:]) is None
        assert kleline.settlement.payout_by_end_to_end(tx, "NOTPROVIDED") is None
    with pytest.raises(UnknownPayout):
        kleline.settlement.get_payout("po_missing")
