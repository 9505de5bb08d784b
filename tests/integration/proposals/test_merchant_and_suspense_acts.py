"""The other four-eyes acts, each proposed by one person and applied once a second approves: a manual suspense
resolution (its money leaves suspense in one balanced entry), a merchant's commission rate (its next payments take the
new one), a merchant's new bank account (its next payouts go there). A subject that changed in between fails the
proposal cleanly: nothing applied, the reason kept, a record in the trail."""

from __future__ import annotations

import pytest

from kleline.bootstrap import Kleline
from kleline.ledger import NormalSide, UnknownAccount
from kleline.merchant_users import Actor, BankChangeDecided
from kleline.merchants import InvalidMerchant, StatusConflict
from kleline.merchants import store as merchant_store
from kleline.money import Money
from kleline.payments.model import PaymentRequest
from kleline.proposals import ProposalDecided, ProposalFailed, ProposalKind, ProposalPending, SameApprover
from kleline.reconciliation import InvalidResolution, ResolutionRequest
from kleline.staff.actor import RoleForbids
from kleline.staff.audit import verify

from ...e2e.dashboard_world import member, merchant
from ...operator_keys import OPERATOR
from ..reconciliation.conftest import SUSPENSE, World, balance, balanced, credit, statement
from .conftest import ALICE, BOB, CAROL, DAVE, kept, trail

NEW_IBAN = "DE89370400440532013000"
OLD_IBAN = "FR1420041010050500013M02606"


def held_credit(kleline: Kleline, minor: int = 321) -> str:
    """A credit the books cannot explain (no end-to-end id), held in suspense; its item's id."""
    kleline.reconciliation.import_document(statement(kleline, credit("NTRY-1", minor, None)), actor=OPERATOR)
    (item,) = kleline.suspense.items()[0]
    return item.id


def test_a_suspense_resolution_applies_once_a_second_person_approves_it(kleline: Kleline) -> None:
    kleline.ledger.open_account("kleline:other-income", "EUR", NormalSide.CREDIT)
    item_id = held_credit(kleline)
    request = ResolutionRequest("account", "kleline:other-income", "January interest")
    proposal = kleline.proposals.propose_suspense_resolution(ALICE, item_id, request)
    assert (proposal.kind, proposal.subject_type, proposal.parameters) == (
        ProposalKind.SUSPENSE_RESOLUTION,
        "suspense_item",
        {
            "type": "account",
            "target": "kleline:other-income",
            "note": "January interest",
            "line": {"amount": 321, "currency": "EUR", "direction": "credit"},
        },
    )
    assert kleline.suspense.get(item_id).status == "open" and balance(kleline, SUSPENSE) == 321
    with pytest.raises(SameApprover):
        kleline.proposals.approve(ALICE, proposal.id)
    with pytest.raises(RoleForbids):
        kleline.proposals.approve(CAROL, proposal.id)  # compliance does not resolve suspense
    assert kleline.suspense.get(item_id).status == "open"

    approved = kleline.proposals.approve(BOB, proposal.id)

    item = kleline.suspense.get(item_id)
    assert item.status == "resolved" and item.resolution is not None
    assert (item.resolution.kind, item.resolution.resolved_by) == ("account", proposal.id)
    assert approved.result == {
        "entry_id": item.resolution.entry_id,
        "type": "account",
        "target": "kleline:other-income",
    }
    entry = kleline.ledger.entry(item.resolution.entry_id or "")
    assert sum(p.amount for p in entry.postings) == 0 and len(entry.postings) == 2
    assert (balance(kleline, SUSPENSE), balance(kleline, "kleline:other-income")) == (0, 321)
    assert [(r.action, r.actor_id) for r in trail(kleline)] == [
        ("proposal_made", "1"),
        ("suspense_resolved", "2"),
        ("proposal_approved", "2"),
    ]
    balanced(kleline)


def test_a_suspense_resolution_that_cannot_apply_is_refused_when_proposed(kleline: Kleline) -> None:
    item_id = held_credit(kleline)
    with pytest.raises(UnknownAccount):
        kleline.proposals.propose_suspense_resolution(ALICE, item_id, ResolutionRequest("account", "kleline:nowhere"))
    with pytest.raises(InvalidResolution):  # its money sits in suspense: it cannot be dismissed
        kleline.proposals.propose_suspense_resolution(ALICE, item_id, ResolutionRequest("dismissed", None, "interest"))
    assert kleline.proposals.list() == [] and trail(kleline) == []


def test_a_suspense_item_resolved_meanwhile_fails_the_proposal_and_posts_nothing_more(kleline: Kleline) -> None:
    for code in ("kleline:other-income", "kleline:bank-charges"):
        kleline.ledger.open_account(code, "EUR", NormalSide.CREDIT)
    item_id = held_credit(kleline)
    proposal = kleline.proposals.propose_suspense_resolution(
        ALICE, item_id, ResolutionRequest("account", "kleline:other-income")
    )
    with pytest.raises(ProposalPending):
        kleline.proposals.propose_suspense_resolution(
            BOB, item_id, ResolutionRequest("account", "kleline:bank-charges")
        )
    # Resolved by the service behind the proposal's back (what a migration or a repair script could do).
    kleline.suspense.resolve(
        item_id, ResolutionRequest("account", "kleline:bank-charges"), actor=OPERATOR, resolved_by="repair"
    )

    with pytest.raises(ProposalFailed) as failed:
        kleline.proposals.approve(BOB, proposal.id)

    assert failed.value.cause == "suspense_item_resolved"
    assert kleline.proposals.get(proposal.id).status == "failed"
    assert (balance(kleline, "kleline:other-income"), balance(kleline, "kleline:bank-charges")) == (0, 321)
    assert [r.action for r in trail(kleline)] == ["proposal_made", "proposal_failed"]
    balanced(kleline)


def test_a_commission_rate_change_takes_effect_on_the_next_payments_once_approved(kleline: Kleline) -> None:
    world = World(kleline)
    before = world.card_payment(10_000)
    assert before.fee == 350
    with pytest.raises(RoleForbids):
        kleline.proposals.propose_commission_rate(ALICE, world.merchant, 380)  # finance does not decide merchants
    for refused_rate, error in ((401, InvalidMerchant), (350, InvalidMerchant)):
        with pytest.raises(error):
            kleline.proposals.propose_commission_rate(CAROL, world.merchant, refused_rate)
    proposal = kleline.proposals.propose_commission_rate(CAROL, world.merchant, 380)
    assert proposal.parameters == {"fee_bps": 380, "previous_fee_bps": 350}
    assert kleline.merchants.get(world.merchant).fee_bps == 350
    with pytest.raises(SameApprover):
        kleline.proposals.approve(CAROL, proposal.id)

    approved = kleline.proposals.approve(DAVE, proposal.id)

    assert (approved.status, approved.decided_by) == ("approved", kept(DAVE))
    assert kleline.merchants.get(world.merchant).fee_bps == 380
    after = world.card_payment(10_000)
    assert after.fee == 380
    assert kleline.payments.get(before.id).fee == 350  # payments made before keep their rate
    changed = trail(kleline, action="merchant_commission_rate_changed")[0]
    assert (changed.subject_id, changed.before, changed.after) == (
        world.merchant,
        {"fee_bps": 350},
        {"fee_bps": 380, "proposal": proposal.id},
    )
    assert verify(kleline.db).ok


def test_a_commission_rate_changed_meanwhile_fails_the_proposal(kleline: Kleline) -> None:
    shop = merchant(kleline)
    pending, _ = kleline.merchants.register(name="Nouvelle", email="new@example.fr", iban=OLD_IBAN)
    with pytest.raises(StatusConflict):
        kleline.proposals.propose_commission_rate(CAROL, pending.id, 380)
    proposal = kleline.proposals.propose_commission_rate(CAROL, shop, 380)
    with kleline.db.transaction() as tx:
        merchant_store.set_fee(tx, shop, 320)  # another path changed it in between
    with pytest.raises(ProposalFailed) as failed:
        kleline.proposals.approve(DAVE, proposal.id)
    assert failed.value.cause == "commission_rate_changed"
    assert kleline.merchants.get(shop).fee_bps == 320
    assert kleline.proposals.get(proposal.id).failure_code == "commission_rate_changed"


def test_a_new_bank_account_takes_effect_once_a_second_operator_approves_it(kleline: Kleline) -> None:
    shop = merchant(kleline)
    owner = member(kleline, shop, "owner@example.org")
    change = kleline.bank_account_changes.request(Actor(owner, "203.0.113.7"), NEW_IBAN)
    proposal = kleline.proposals.propose_bank_account(CAROL, shop, change.id)
    assert proposal.parameters == {"change_id": change.id, "iban": NEW_IBAN, "bic": "COBADEFFXXX"}
    assert kleline.bank_account_changes.get(shop, change.id).status == "pending"  # still pending: one pair of eyes
    assert kleline.merchants.get(shop).iban == OLD_IBAN
    with pytest.raises(SameApprover):
        kleline.proposals.approve(CAROL, proposal.id)
    assert kleline.merchants.get(shop).iban == OLD_IBAN

    approved = kleline.proposals.approve(DAVE, proposal.id)

    assert kleline.merchants.get(shop).iban == NEW_IBAN
    decided = kleline.bank_account_changes.get(shop, change.id)
    assert (decided.status, decided.decided_by, decided.previous_iban) == ("approved", "key 4", OLD_IBAN)
    assert approved.result == {
        "change_id": change.id,
        "iban": NEW_IBAN,
        "bic": "COBADEFFXXX",
        "previous_iban": OLD_IBAN,
        "previous_bic": "PSSTFRPP",
    }
    records = trail(kleline)
    assert [r.action for r in records] == ["proposal_made", "merchant_bank_account_changed", "proposal_approved"]
    assert NEW_IBAN not in str([(r.before, r.after) for r in records])  # the trail keeps IBANs masked
    assert records[0].after is not None and records[0].after["parameters"]["iban"] == "DE****************3000"
    assert verify(kleline.db).ok


def test_a_bank_change_withdrawn_by_the_merchant_withdraws_its_proposal_in_the_same_transaction(
    kleline: Kleline,
) -> None:
    shop = merchant(kleline)
    owner = member(kleline, shop, "owner@example.org")
    change = kleline.bank_account_changes.request(Actor(owner), NEW_IBAN)
    proposal = kleline.proposals.propose_bank_account(CAROL, shop, change.id)
    kleline.bank_account_changes.withdraw(Actor(owner), change.id)
    closed = kleline.proposals.get(proposal.id)
    assert closed.decided_by is not None
    assert (closed.status, closed.decided_by.id, closed.reason) == (
        "withdrawn",
        CAROL.id,
        "the merchant's owner withdrew the bank account change",
    )
    assert kleline.proposals.pending(ProposalKind.BANK_ACCOUNT, shop) is None
    with pytest.raises(ProposalDecided):
        kleline.proposals.approve(DAVE, proposal.id)
    assert kleline.merchants.get(shop).iban == OLD_IBAN
    assert kleline.bank_account_changes.get(shop, change.id).status == "withdrawn"
    with pytest.raises(BankChangeDecided):
        kleline.proposals.propose_bank_account(CAROL, shop, change.id)
    kleline.bank_account_changes.withdraw(Actor(owner), change.id)  # again: nothing more happens
    assert [r.action for r in trail(kleline)][-1] == "proposal_withdrawn"
    assert len([r for r in trail(kleline) if r.action == "proposal_withdrawn"]) == 1
    assert verify(kleline.db).ok


def test_a_bank_change_an_operator_rejects_withdraws_its_proposal_under_that_operators_name(
    kleline: Kleline,
) -> None:
    shop = merchant(kleline)
    change = kleline.bank_account_changes.request(Actor(member(kleline, shop, "owner@example.org")), NEW_IBAN)
    proposal = kleline.proposals.propose_bank_account(CAROL, shop, change.id)
    kleline.bank_account_changes.reject(shop, change.id, "Not the shop's account", by="dave", actor=DAVE)
    closed = kleline.proposals.get(proposal.id)
    assert closed.decided_by is not None
    assert (closed.status, closed.decided_by.id) == ("withdrawn", DAVE.id)
    actions = [r.action for r in trail(kleline)]
    assert actions[-2:] == ["proposal_withdrawn", "bank_account_change_rejected"]
    assert verify(kleline.db).ok


def test_a_bank_change_without_a_proposal_is_withdrawn_as_before(kleline: Kleline) -> None:
    shop = merchant(kleline)
    owner = member(kleline, shop, "owner@example.org")
    first = kleline.bank_account_changes.request(Actor(owner), NEW_IBAN)
    kleline.bank_account_changes.withdraw(Actor(owner), first.id)
    assert kleline.proposals.list() == []


def test_a_rate_and_an_account_of_one_merchant_are_proposed_side_by_side(kleline: Kleline) -> None:
    shop = merchant(kleline)
    change = kleline.bank_account_changes.request(Actor(member(kleline, shop, "owner@example.org")), NEW_IBAN)
    rate = kleline.proposals.propose_commission_rate(CAROL, shop, 380)
    account = kleline.proposals.propose_bank_account(CAROL, shop, change.id)
    assert {p.id for p in kleline.proposals.list(subject_id=shop)} == {rate.id, account.id}
    assert [p.id for p in kleline.proposals.list(kind="bank_account")] == [account.id]
    assert kleline.proposals.pending(ProposalKind.COMMISSION_RATE, shop) == rate
    kleline.payments.create(shop, PaymentRequest(Money(1_000, "EUR")))  # the merchant works on meanwhile
