"""Lines the books cannot explain: held in suspense with a reason an operator can act on, then resolved."""

from __future__ import annotations

import pytest

from kleline.bootstrap import Kleline
from kleline.errors import NotFound
from kleline.ledger import NormalSide, UnknownAccount
from kleline.reconciliation import (
    InvalidResolution,
    LineStatus,
    ResolutionRefused,
    ResolutionRequest,
    SuspenseItemNotFound,
    SuspenseItemResolved,
    SuspenseReason,
)
from kleline.sepa import StatementLine
from kleline.staff.audit import AuditFilters, search

from ...operator_keys import OPERATOR
from ..helpers import book_snapshot
from .conftest import RECEIVABLE, SUSPENSE, World, balance, balanced, credit, debit, statement


def held(kleline: Kleline, *lines: StatementLine, statement_id: str = "STMT-1") -> list[tuple[SuspenseReason, str]]:
    """Import ``lines``; each line's suspense reason and detail (every line must be held)."""
    result = kleline.reconciliation.import_document(
        statement(kleline, *lines, statement_id=statement_id), actor=OPERATOR
    )
    outcomes = result.statements[0].lines or ()
    assert all(outcome.status is LineStatus.SUSPENSE for outcome in outcomes), outcomes
    items = {item.line_id: item for item in kleline.suspense.items(limit=100)[0]}
    return [(items[outcome.id].reason, items[outcome.id].detail) for outcome in outcomes]


def test_a_line_naming_nothing_is_held_in_suspense_with_its_money_booked_at_the_bank(kleline: Kleline) -> None:
    reasons = held(kleline, credit("NTRY-1", 1_234, "INV-2026-001"), debit("NTRY-2", 99, None))

    assert reasons == [
        (
            SuspenseReason.UNKNOWN_REFERENCE,
            "no payout, collection, card settlement or refund has end-to-end id 'INV-2026-001'",
        ),
        (SuspenseReason.UNKNOWN_REFERENCE, "the line carries no end-to-end id"),
    ]
    assert balance(kleline, kleline.own_account.safeguarding_code) == 1_135
    assert balance(kleline, SUSPENSE) == 1_135  # credit-normal: 1,234 in, 99 out
    balanced(kleline)


def test_lines_that_do_not_fit_their_counterpart_say_why(kleline: Kleline, world: World) -> None:
    payment = world.card_payment(2_500)
    payout = world.payout(3_000)
    pending = world.collection(1_000, submit=False)

    reasons = held(
        kleline,
        credit("NTRY-1", 2_400, payment.authorization_id),
        credit("NTRY-2", 2_500, payment.authorization_id, reason="MS03"),
        credit("NTRY-3", payout.amount.minor, payout.id),
        debit("NTRY-4", payout.amount.minor, payout.id, reason="AC04"),
        credit("NTRY-5", 1_000, pending.id),
    )

    assert [reason for reason, _ in reasons] == [
        SuspenseReason.AMOUNT_MISMATCH,
        SuspenseReason.UNEXPECTED_RETURN,
        SuspenseReason.DIRECTION_MISMATCH,
        SuspenseReason.UNEXPECTED_RETURN,
        SuspenseReason.REFUSED,
    ]
    assert reasons[0][1] == f"the line is 24.00 EUR, card payment {payment.id} is 25.00 EUR"
    assert reasons[2][1] == f"a credit line for payout {payout.id}, which the bank books as a debit"
    assert reasons[4][1].startswith("collection_not_submitted: ")
    assert kleline.settlement.get_payout(payout.id).status == "in_transit"
    balanced(kleline)


def test_a_second_line_settling_what_was_already_settled_is_held_as_already_matched(
    kleline: Kleline, world: World
) -> None:
    payment = world.card_payment(2_500)
    kleline.reconciliation.import_document(
        statement(kleline, credit("NTRY-1", 2_500, payment.authorization_id)), actor=OPERATOR
    )

    reasons = held(kleline, credit("NTRY-9", 2_500, payment.authorization_id), statement_id="STMT-2")

    assert reasons == [
        (SuspenseReason.ALREADY_MATCHED, f"card payment {payment.id} was already confirmed by another line")
    ]
    assert balance(kleline, RECEIVABLE) == 0
    assert balance(kleline, SUSPENSE) == 2_500
    (item,) = kleline.suspense.items()[0]
    with pytest.raises(ResolutionRefused):
        kleline.suspense.resolve(item.id, ResolutionRequest("card_payment", payment.id), actor=OPERATOR)


def test_a_payout_whose_reference_the_bank_dropped_is_paid_when_the_operator_names_it(
    kleline: Kleline, world: World
) -> None:
    payout = world.payout(3_000)
    bank = kleline.own_account
    held(kleline, debit("NTRY-1", payout.amount.minor, None))
    (item,) = kleline.suspense.items()[0]

    resolved = kleline.suspense.resolve(
        item.id, ResolutionRequest("payout", payout.id, "bank lost the reference"), resolved_by="op:1", actor=OPERATOR
    )

    assert resolved.status == "resolved" and resolved.resolution is not None
    assert (resolved.resolution.kind, resolved.resolution.target, resolved.resolution.note) == (
        "payout",
        payout.id,
        "bank lost the reference",
    )
    assert resolved.resolution.entry_id == f"{payout.id}:paid"
    assert kleline.settlement.get_payout(payout.id).status == "paid"
    assert balance(kleline, SUSPENSE) == 0
    assert balance(kleline, bank.in_transit_code) == 0
    assert balance(kleline, bank.safeguarding_code) == -payout.amount.minor
    assert kleline.suspense.items()[0] == []
    assert kleline.suspense.items(status="resolved")[0] == [resolved]
    # The same resolution again changes nothing; another one is refused.
    snapshot = book_snapshot(kleline.db)
    assert (
        kleline.suspense.resolve(item.id, ResolutionRequest("payout", payout.id, "again"), actor=OPERATOR) == resolved
    )
    assert book_snapshot(kleline.db) == snapshot
    with pytest.raises(SuspenseItemResolved):
        kleline.suspense.resolve(item.id, ResolutionRequest("account", "kleline:commission"), actor=OPERATOR)
    balanced(kleline)


def test_an_unexplained_credit_is_resolved_to_an_account_in_its_currency(kleline: Kleline) -> None:
    kleline.ledger.open_account("kleline:other-income", "EUR", NormalSide.CREDIT)
    kleline.ledger.open_account("kleline:usd-income", "USD", NormalSide.CREDIT)
    held(kleline, credit("NTRY-1", 1_234, "INTEREST-2026-01"))
    (item,) = kleline.suspense.items()[0]
    snapshot = book_snapshot(kleline.db)

    for refused in (SUSPENSE, kleline.own_account.safeguarding_code, "kleline:usd-income"):
        with pytest.raises(ResolutionRefused):
            kleline.suspense.resolve(item.id, ResolutionRequest("account", refused), actor=OPERATOR)
    with pytest.raises(UnknownAccount):
        kleline.suspense.resolve(item.id, ResolutionRequest("account", "kleline:nowhere"), actor=OPERATOR)
    with pytest.raises(NotFound):
        kleline.suspense.resolve(item.id, ResolutionRequest("payout", "po_unknown"), actor=OPERATOR)
    with pytest.raises(InvalidResolution):
        kleline.suspense.resolve(item.id, ResolutionRequest("dismissed", None, "it was interest"), actor=OPERATOR)
    assert book_snapshot(kleline.db) == snapshot

    resolved = kleline.suspense.resolve(
        item.id, ResolutionRequest("account", "kleline:other-income", "interest"), actor=OPERATOR
    )

    assert resolved.resolution is not None and resolved.resolution.entry_id == f"{item.id}:resolved"
    assert balance(kleline, SUSPENSE) == 0
    assert balance(kleline, "kleline:other-income") == 1_234
    balanced(kleline)
    (record,) = search(kleline.db, AuditFilters(action="suspense_item_resolved")).records  # the refusals left none
    assert (record.subject_type, record.subject_id, record.actor_kind) == ("suspense_item", item.id, "cli")
    assert record.before == {"status": "open", "reason": item.reason.value}
    assert record.after == {
        "status": "resolved",
        "kind": "account",
        "target": "kleline:other-income",
        "entry_id": f"{item.id}:resolved",
    }
    kleline.suspense.resolve(item.id, ResolutionRequest("account", "kleline:other-income"), actor=OPERATOR)
    assert len(search(kleline.db, AuditFilters(action="suspense_item_resolved")).records) == 1  # the same again


def test_a_line_in_another_currency_posts_nothing_and_can_only_be_dismissed_with_a_note(kleline: Kleline) -> None:
    snapshot = book_snapshot(kleline.db)
    reasons = held(kleline, credit("NTRY-1", 5_000, None, currency="USD"))

    assert reasons == [(SuspenseReason.OTHER_CURRENCY, "the line is in USD; the books for this account are in EUR")]
    assert book_snapshot(kleline.db) == snapshot
    (item,) = kleline.suspense.items()[0]
    assert item.entry_id is None
    with pytest.raises(ResolutionRefused):
        kleline.suspense.resolve(item.id, ResolutionRequest("account", "kleline:commission"), actor=OPERATOR)
    with pytest.raises(InvalidResolution):
        kleline.suspense.resolve(item.id, ResolutionRequest("dismissed", None, "  "), actor=OPERATOR)

    dismissed = kleline.suspense.resolve(
        item.id, ResolutionRequest("dismissed", None, "sent back to the payer"), actor=OPERATOR
    )

    assert dismissed.resolution is not None
    assert (dismissed.resolution.kind, dismissed.resolution.entry_id) == ("dismissed", None)
    assert book_snapshot(kleline.db) == snapshot


def test_resolution_requests_name_exactly_what_they_need(kleline: Kleline) -> None:
    with pytest.raises(InvalidResolution):
        ResolutionRequest("payout", None)
    with pytest.raises(InvalidResolution):
        ResolutionRequest("dismissed", "po_1")
    with pytest.raises(InvalidResolution):
        ResolutionRequest("merchant", "mer_1")
    with pytest.raises(SuspenseItemNotFound):
        kleline.suspense.resolve("si_missing", ResolutionRequest("dismissed", None, "no"), actor=OPERATOR)
    with pytest.raises(SuspenseItemNotFound):
        kleline.suspense.get("si_missing")


def test_the_queue_lists_oldest_first_page_by_page_without_losing_or_repeating_an_item(kleline: Kleline) -> None:
    held(kleline, *(credit(f"NTRY-{n}", 100 + n, f"X{n}") for n in range(5)))

    first, more = kleline.suspense.items(limit=3)
    rest, done = kleline.suspense.items(limit=3, after=first[-1].id)

    assert (more, done) == (True, False)
    assert sorted(item.line.entry_ref for item in first + rest) == [f"NTRY-{n}" for n in range(5)]
    assert kleline.suspense.items(status=None, limit=10)[0] == first + rest
