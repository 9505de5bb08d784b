"""Writing a debt off takes two people: one proposes it (nothing moves), a second approves it (one balanced entry,
posted with the decision), never the proposer; two approvals at once post it once; a debt that changed in between
fails the proposal and posts nothing; every step is in the staff audit trail."""

from __future__ import annotations

import threading

import pytest

from kleline.bootstrap import Kleline
from kleline.collections import BAD_DEBT_ACCOUNT, AmountExceedsDebt, NothingOwed, receivable_code
from kleline.db.engine import INTEGRITY_ERRORS
from kleline.ledger.audit import trial_balance
from kleline.proposals import (
    NotProposer,
    ProposalDecided,
    ProposalFailed,
    ProposalKind,
    ProposalPending,
    SameApprover,
)
from kleline.staff.actor import RoleForbids, StaffActor
from kleline.staff.audit import verify

from ..collections.conftest import balance, eur
from ..collections.test_receivables import card_top_up, in_debt
from .conftest import ALICE, BOB, CAROL, SUPPORT, kept, trail


def test_a_write_off_proposed_by_one_and_approved_by_another_posts_one_balanced_entry(kleline: Kleline) -> None:
    ada, _ = in_debt(kleline, 1500)
    proposal = kleline.proposals.propose_write_off(ALICE, ada, eur(400))
    assert (proposal.kind, proposal.status, proposal.subject_type, proposal.subject_id) == (
        ProposalKind.WRITE_OFF,
        "pending",
        "customer",
        ada,
    )
    assert proposal.parameters == {"amount": 400, "currency": "EUR", "owed": 1500}
    assert balance(kleline, receivable_code(ada)) == 1500  # nothing moves on a proposal

    approved = kleline.proposals.approve(BOB, proposal.id)

    assert (approved.status, approved.decided_by, approved.proposed_by) == ("approved", kept(BOB), kept(ALICE))
    assert approved.result is not None and approved.result["outstanding"] == 1100
    entry = kleline.ledger.entry(approved.result["entry_id"])
    assert {(p.account, p.amount) for p in entry.postings} == {(BAD_DEBT_ACCOUNT, 400), (receivable_code(ada), -400)}
    assert entry.metadata["proposal"] == proposal.id and entry.metadata["approved_by"] == "key 2"
    assert (balance(kleline, receivable_code(ada)), balance(kleline, BAD_DEBT_ACCOUNT)) == (1100, 400)
    assert kleline.proposals.get(proposal.id) == approved
    assert trial_balance(kleline.db).balanced

    steps = [(r.action, r.actor_id, r.subject_id) for r in trail(kleline)]
    assert steps == [
        ("proposal_made", "1", proposal.id),
        ("receivable_written_off", "2", ada),
        ("proposal_approved", "2", proposal.id),
    ]
    written_off = trail(kleline, action="receivable_written_off")[0]
    assert (written_off.before, written_off.after) == (
        {"owed": 1500, "currency": "EUR"},
        {"owed": 1100, "currency": "EUR", "written_off": 400, "entry": entry.id, "proposal": proposal.id},
    )
    assert trail(kleline, action="proposal_made")[0].address == "203.0.113.1"
    assert verify(kleline.db).ok


def test_the_proposer_cannot_approve_its_own_write_off_and_nothing_changes(kleline: Kleline) -> None:
    ada, _ = in_debt(kleline, 1500)
    proposal = kleline.proposals.propose_write_off(ALICE, ada)
    assert proposal.parameters == {"amount": 1500, "currency": "EUR", "owed": 1500}  # the whole debt, as owed now
    same_key_other_address = StaffActor("key", "1", None, "198.51.100.9")
    for who in (ALICE, same_key_other_address):
        with pytest.raises(SameApprover) as refused:
            kleline.proposals.approve(who, proposal.id)
        assert (refused.value.status, refused.value.code) == (403, "same_approver")
    with pytest.raises(SameApprover):
        kleline.proposals.reject(ALICE, proposal.id, "changed my mind")
    assert kleline.proposals.get(proposal.id).status == "pending"
    assert balance(kleline, receivable_code(ada)) == 1500
    assert [r.action for r in trail(kleline)] == ["proposal_made"]


def test_the_approver_must_hold_the_power_and_so_must_the_proposer(kleline: Kleline) -> None:
    ada, _ = in_debt(kleline, 1500)
    with pytest.raises(RoleForbids):
        kleline.proposals.propose_write_off(SUPPORT, ada)
    proposal = kleline.proposals.propose_write_off(ALICE, ada)
    for who in (SUPPORT, CAROL):  # compliance decides merchants, not receivables
        with pytest.raises(RoleForbids):
            kleline.proposals.approve(who, proposal.id)
        with pytest.raises(RoleForbids):
            kleline.proposals.reject(who, proposal.id, "no")
    assert kleline.proposals.get(proposal.id).status == "pending"
    assert balance(kleline, receivable_code(ada)) == 1500


def test_one_pending_write_off_per_customer_then_rejected_or_withdrawn(kleline: Kleline) -> None:
    ada, _ = in_debt(kleline, 1500)
    first = kleline.proposals.propose_write_off(ALICE, ada, eur(100))
    with pytest.raises(ProposalPending) as pending:
        kleline.proposals.propose_write_off(BOB, ada, eur(200))
    assert (pending.value.status, pending.value.extensions()) == (409, {"proposal_id": first.id})
    with pytest.raises(NotProposer):
        kleline.proposals.withdraw(BOB, first.id)
    withdrawn = kleline.proposals.withdraw(ALICE, first.id)
    assert (withdrawn.status, withdrawn.decided_by) == ("withdrawn", kept(ALICE))
    with pytest.raises(ProposalDecided) as decided:
        kleline.proposals.approve(BOB, first.id)
    assert decided.value.extensions() == {"proposal_status": "withdrawn"}

    second = kleline.proposals.propose_write_off(BOB, ada, eur(200))
    rejected = kleline.proposals.reject(ALICE, second.id, "  Ada promised to\nrepay by card.  ")
    assert (rejected.status, rejected.reason) == ("rejected", "Ada promised to repay by card.")
    with pytest.raises(ProposalDecided):
        kleline.proposals.withdraw(BOB, second.id)
    assert balance(kleline, receivable_code(ada)) == 1500
    assert [r.action for r in trail(kleline)] == [
        "proposal_made",
        "proposal_withdrawn",
        "proposal_made",
        "proposal_rejected",
    ]
    assert trail(kleline, action="proposal_rejected")[0].after == {
        "status": "rejected",
        "kind": "write_off",
        "subject_id": ada,
        "reason": "Ada promised to repay by card.",
    }


def test_a_write_off_that_could_not_apply_now_is_not_proposed(kleline: Kleline) -> None:
    ada, _ = in_debt(kleline, 1500)
    with pytest.raises(AmountExceedsDebt):
        kleline.proposals.propose_write_off(ALICE, ada, eur(1501))
    bob_customer = kleline.customers.sign_up("bob@example.org", "correct horse battery staple", "Bob").id
    with pytest.raises(NothingOwed):
        kleline.proposals.propose_write_off(ALICE, bob_customer)
    assert kleline.proposals.list() == [] and trail(kleline) == []


def test_a_debt_that_changed_since_the_proposal_fails_it_and_nothing_is_written_off(kleline: Kleline) -> None:
    ada, _ = in_debt(kleline, 1500)
    proposal = kleline.proposals.propose_write_off(ALICE, ada)
    card_top_up(kleline, ada, 500)
    kleline.collections.debts.repay(ada)  # Ada repays 5 EUR in between

    with pytest.raises(ProposalFailed) as failed:
        kleline.proposals.approve(BOB, proposal.id)

    assert (failed.value.status, failed.value.code) == (409, "proposal_failed")
    assert failed.value.extensions() == {"proposal_id": proposal.id, "cause": "debt_changed"}
    assert "owed 15.00 EUR when the write-off was proposed and owes 10.00 EUR now" in failed.value.detail
    stale = kleline.proposals.get(proposal.id)
    assert (stale.status, stale.failure_code, stale.decided_by, stale.result) == (
        "failed",
        "debt_changed",
        kept(BOB),
        None,
    )
    assert stale.reason is not None and "owes 10.00 EUR now" in stale.reason
    assert (balance(kleline, receivable_code(ada)), balance(kleline, BAD_DEBT_ACCOUNT)) == (1000, 0)
    assert [r.action for r in trail(kleline)] == ["proposal_made", "proposal_failed"]
    with pytest.raises(ProposalDecided):
        kleline.proposals.approve(BOB, proposal.id)
    again = kleline.proposals.propose_write_off(ALICE, ada)  # no longer pending: a new one may be made
    done = kleline.proposals.approve(BOB, again.id).result
    assert done is not None and (done["amount"], done["outstanding"]) == (1000, 0)


@pytest.mark.slow
def test_two_approvals_at_once_write_off_once(kleline: Kleline) -> None:
    ada, _ = in_debt(kleline, 1500)
    proposal = kleline.proposals.propose_write_off(ALICE, ada)
    approvers = [BOB, StaffActor("key", "6", None), StaffActor("cli", "root", None)]
    barrier = threading.Barrier(len(approvers))
    outcomes: list[str] = []

    def approve(who: StaffActor) -> None:
        barrier.wait()
        try:
            outcomes.append(kleline.proposals.approve(who, proposal.id).status)
        except ProposalDecided as decided:
            outcomes.append(decided.code)

    threads = [threading.Thread(target=approve, args=(who,)) for who in approvers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["approved", "proposal_decided", "proposal_decided"]
    assert (balance(kleline, receivable_code(ada)), balance(kleline, BAD_DEBT_ACCOUNT)) == (0, 1500)
    assert [r.action for r in trail(kleline)] == ["proposal_made", "receivable_written_off", "proposal_approved"]
    assert trial_balance(kleline.db).balanced and verify(kleline.db).ok


def test_the_database_itself_refuses_an_approval_by_the_proposer(kleline: Kleline) -> None:
    ada, _ = in_debt(kleline, 1500)
    proposal = kleline.proposals.propose_write_off(ALICE, ada)
    with pytest.raises(INTEGRITY_ERRORS), kleline.db.transaction() as tx:
        tx.execute(
            "UPDATE proposals SET status = 'approved', decided_by_kind = 'key', decided_by_id = '1', decided_at = 1 "
            "WHERE id = :id",
            {"id": proposal.id},
        )
    assert kleline.proposals.get(proposal.id).status == "pending"
    with pytest.raises(INTEGRITY_ERRORS), kleline.db.transaction() as tx:  # a second pending one, behind the service
        tx.execute(
            "INSERT INTO proposals (id, kind, subject_type, subject_id, parameters, status, proposed_by_kind, "
            "proposed_by_id, proposed_at) VALUES ('prop_x', 'write_off', 'customer', :subject, '{}', 'pending', 'key', "
            "'2', 1)",
            {"subject": ada},
        )
