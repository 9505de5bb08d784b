"""Statement lines matched to what they confirm, with the entries DESIGN.md's money flows book, to the cent."""

from __future__ import annotations

from kleline.bootstrap import Kleline
from kleline.collections import CollectionStatus, receivable_code
from kleline.merchants.model import balance_account
from kleline.payments.model import PaymentRequest
from kleline.reconciliation import Action, LineStatus, ResolutionRequest, SuspenseReason, Target
from kleline.wallet.customers import purse_code

from ...operator_keys import OPERATOR
from .conftest import RECEIVABLE, SUSPENSE, World, balance, balanced, credit, debit, eur, statement


def test_a_card_settlement_moves_the_captured_amount_from_the_network_receivable_to_the_bank(
    kleline: Kleline, world: World
) -> None:
    payment = world.card_payment(5_000)
    assert balance(kleline, RECEIVABLE) == 5_000

    result = kleline.reconciliation.import_document(
        statement(kleline, credit("NTRY-1", 5_000, payment.authorization_id)), actor=OPERATOR
    )

    (imported,) = result.statements
    assert (result.matched, result.unmatched, result.duplicates, result.replayed) == (1, 0, 0, False)
    assert imported.lines is not None
    (line,) = imported.lines
    assert (line.status, line.target, line.action, line.object_id) == (
        LineStatus.MATCHED,
        Target.CARD_PAYMENT,
        Action.CONFIRM,
        payment.id,
    )
    assert line.entry_id == f"{payment.id}:settled"
    assert balance(kleline, RECEIVABLE) == 0
    assert balance(kleline, kleline.own_account.safeguarding_code) == 5_000
    assert balance(kleline, SUSPENSE) == 0
    balanced(kleline)


def test_a_card_top_up_is_settled_under_its_authorisation_reference(kleline: Kleline, world: World) -> None:
    top_up_id, reference = world.card_top_up(2_000)

    result = kleline.reconciliation.import_document(
        statement(kleline, credit("NTRY-1", 2_000, reference)), actor=OPERATOR
    )

    (line,) = result.statements[0].lines or ()
    assert (line.status, line.target, line.object_id) == (LineStatus.MATCHED, Target.CARD_TOP_UP, top_up_id)
    assert balance(kleline, RECEIVABLE) == 0
    assert balance(kleline, kleline.own_account.safeguarding_code) == 2_000
    assert balance(kleline, purse_code(world.customer)) == 2_000
    balanced(kleline)


def test_a_card_refund_charged_by_the_network_moves_money_from_the_bank_back_to_the_receivable(
    kleline: Kleline, world: World
) -> None:
    payment = world.card_payment(5_000)
    refund = world.refund(payment, 1_200)
    assert balance(kleline, RECEIVABLE) == 3_800

    kleline.reconciliation.import_document(
        statement(
            kleline,
            credit("NTRY-1", 5_000, payment.authorization_id),
            debit("NTRY-2", 1_200, refund.id),
        ),
        actor=OPERATOR,
    )

    assert balance(kleline, RECEIVABLE) == 0
    assert balance(kleline, kleline.own_account.safeguarding_code) == 3_800
    assert kleline.reconciliation.statements()[0][0].matched == 2
    balanced(kleline)


def test_a_payout_debit_pays_it_and_its_return_owes_the_merchant_the_money_again(
    kleline: Kleline, world: World
) -> None:
    payout = world.payout(5_000)  # 5,000 captured at 3.5 %: 4,825 for the merchant
    bank = kleline.own_account
    assert (payout.amount, balance(kleline, balance_account(world.merchant))) == (eur(4_825), 0)
    assert balance(kleline, bank.in_transit_code) == -4_825

    kleline.reconciliation.import_document(statement(kleline, debit("NTRY-1", 4_825, payout.id)), actor=OPERATOR)

    assert kleline.settlement.get_payout(payout.id).status == "paid"
    assert balance(kleline, bank.in_transit_code) == 0
    assert balance(kleline, bank.safeguarding_code) == -4_825

    kleline.reconciliation.import_document(
        statement(kleline, credit("NTRY-2", 4_825, payout.id, reason="AC04"), statement_id="STMT-2"), actor=OPERATOR
    )

    returned = kleline.settlement.get_payout(payout.id)
    assert (returned.status, returned.failure_reason) == ("failed", "AC04")
    assert balance(kleline, bank.safeguarding_code) == 0
    assert balance(kleline, balance_account(world.merchant)) == 4_825
    balanced(kleline)


def test_a_collection_credit_collects_it_and_its_return_reverses_the_top_up_leaving_the_spent_part_owed(
    kleline: Kleline, world: World
) -> None:
    collection = world.collection(2_000)
    bank = kleline.own_account
    assert collection.status is CollectionStatus.SUBMITTED
    assert balance(kleline, purse_code(world.customer)) == 2_000
    # The customer spends 1,500 of it at the merchant before the bank says anything.
    payment = kleline.payments.create(world.merchant, PaymentRequest(eur(1_500)))
    kleline.payments.confirm(payment.id, world.customer, "purse")

    kleline.reconciliation.import_document(statement(kleline, credit("NTRY-1", 2_000, collection.id)), actor=OPERATOR)

    assert kleline.collections.get(collection.id).status is CollectionStatus.COLLECTED
    assert balance(kleline, bank.in_transit_code) == 0
    assert balance(kleline, bank.safeguarding_code) == 2_000

    kleline.reconciliation.import_document(
        statement(kleline, debit("NTRY-2", 2_000, collection.id, reason="AM04"), statement_id="STMT-2"), actor=OPERATOR
    )

    assert kleline.collections.get(collection.id).status is CollectionStatus.RETURNED
    assert balance(kleline, bank.safeguarding_code) == 0
    assert balance(kleline, purse_code(world.customer)) == 0
    assert balance(kleline, receivable_code(world.customer)) == 1_500
    balanced(kleline)


def test_a_return_imported_before_the_collection_it_returns_waits_in_suspense_until_the_operator_matches_it(
    kleline: Kleline, world: World
) -> None:
    collection = world.collection(2_000)
    bank = kleline.own_account
    later = statement(kleline, debit("NTRY-2", 2_000, collection.id, reason="AM04"), statement_id="STMT-2")
    earlier = statement(kleline, credit("NTRY-1", 2_000, collection.id), statement_id="STMT-1")

    kleline.reconciliation.import_document(later, actor=OPERATOR)  # the statements arrive out of order

    (item,) = kleline.suspense.items()[0]
    assert (item.reason, item.line.entry_ref) == (SuspenseReason.UNEXPECTED_RETURN, "NTRY-2")
    assert kleline.collections.get(collection.id).status is CollectionStatus.SUBMITTED
    assert balance(kleline, bank.safeguarding_code) == -2_000  # the bank's movement is booked all the same

    kleline.reconciliation.import_document(earlier, actor=OPERATOR)
    kleline.suspense.resolve(item.id, ResolutionRequest("collection", collection.id, "returned AM04"), actor=OPERATOR)

    assert kleline.collections.get(collection.id).status is CollectionStatus.RETURNED
    assert balance(kleline, bank.safeguarding_code) == 0
    assert balance(kleline, bank.in_transit_code) == 0
    assert balance(kleline, purse_code(world.customer)) == 0
    assert balance(kleline, SUSPENSE) == 0
    balanced(kleline)


def test_a_full_cycle_purchase_capture_settlement_statement_leaves_only_the_commission_at_the_bank(
    kleline: Kleline, world: World
) -> None:
    payment = world.card_payment(5_000)
    (payout,) = kleline.settlement.run_payouts(kleline.settlement.run(actor=OPERATOR).id)
    bank = kleline.own_account

    result = kleline.reconciliation.import_document(
        statement(
            kleline,
            credit("NTRY-1", 5_000, payment.authorization_id),
            debit("NTRY-2", payout.amount.minor, payout.id),
        ),
        actor=OPERATOR,
    )

    assert (result.matched, result.unmatched) == (2, 0)
    assert balance(kleline, RECEIVABLE) == 0
    assert balance(kleline, bank.in_transit_code) == 0
    assert balance(kleline, balance_account(world.merchant)) == 0
    assert balance(kleline, SUSPENSE) == 0
    assert balance(kleline, "kleline:commission") == 175
    assert balance(kleline, bank.safeguarding_code) == 175  # what Kleline keeps is what stays at the bank
    assert kleline.suspense.items()[0] == []
    balanced(kleline)
