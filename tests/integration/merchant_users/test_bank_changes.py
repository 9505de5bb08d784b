"""A merchant's bank account changes on each backend: an owner asks, an operator approves or rejects, one pending at a
time, only owners, one merchant never reaching another's change, every step in the trail and the webhooks' events,
the IBAN masked in both."""

from __future__ import annotations

import threading

import pytest

from kleline.db.engine import INTEGRITY_ERRORS, Database
from kleline.events.service import Events
from kleline.merchant_users import (
    BANK_CHANGE_EVENTS,
    BankAccountChanges,
    BankChangeDecided,
    BankChangePending,
    InvalidBankChange,
    NotAllowed,
    UnknownBankChange,
    bank_change_problems,
)
from kleline.merchants import InvalidBic, InvalidIban, UnknownMerchant
from kleline.staff.actor import RoleForbids, StaffActor
from kleline.staff.audit import AuditFilters, search
from kleline.staff.roles import Role

from ...operator_keys import OPERATOR
from .conftest import IBAN, Team, actor

NEW_IBAN = "DE89370400440532013000"
OTHER_IBAN = "FR7630006000011234567890189"


@pytest.fixture
def changes(team: Team) -> BankAccountChanges:
    return BankAccountChanges(team.db, clock=team.clock)


def _events(db: Database, team: Team, merchant_id: str) -> list[tuple[str, dict[str, object]]]:
    events = Events(db, clock=team.clock).list(merchant_id, limit=100)
    return [(event.type, event.data) for event in reversed(events)]


def test_an_owner_asks_for_a_new_account_which_takes_effect_only_once_an_operator_approves_it(
    team: Team, changes: BankAccountChanges
) -> None:
    owner = team.member("owner@example.org")
    team.clock.advance(seconds=1)
    change = changes.request(actor(owner), " de89 3704 0044 0532 0130 00 ")
    assert (change.iban, change.bic, change.status) == (NEW_IBAN, "COBADEFFXXX", "pending")
    assert change.requested_by == owner.id and change.masked_iban == "DE****************3000"
    assert team.merchants.get(team.shop).iban == IBAN  # not yet
    assert changes.state(actor(owner)).pending == change
    assert changes.announcement(actor(owner)) == change

    team.clock.advance(hours=2)
    approved = changes.approve(team.shop, change.id, by="operator key 1", actor=OPERATOR)
    assert (approved.status, approved.decided_at, approved.decided_by) == ("approved", team.clock.now, "operator key 1")
    assert (approved.previous_iban, approved.previous_bic) == (IBAN, "PSSTFRPP")
    merchant = team.merchants.get(team.shop)
    assert (merchant.iban, merchant.bic) == (NEW_IBAN, "COBADEFFXXX")
    state = changes.state(actor(owner))
    assert state.pending is None and state.last_decided == approved
    assert changes.get(team.shop, change.id) == approved

    trail = [(r.action, r.user_id, r.object_id, dict(r.detail)) for r in team.users.activity(actor(owner))][:2]
    masked = {"iban": "DE****************3000"}
    assert trail == [
        (
            "bank_account_changed",
            None,
            change.id,
            {**masked, "previous_iban": "FR*********************2606", "by": "operator key 1"},
        ),
        ("bank_account_change_requested", owner.id, change.id, {**masked, "bic": "COBADEFFXXX"}),
    ]
    events = _events(team.db, team, team.shop)
    assert [kind for kind, _ in events] == ["merchant.bank_account.change_requested", "merchant.bank_account.changed"]
    assert events[1][1] == {
        "object": "bank_account_change",
        "id": change.id,
        "merchant_id": team.shop,
        "status": "approved",
        "iban": "DE****************3000",
        "iban_last4": "3000",
        "bic": "COBADEFFXXX",
        "requested_at": "2026-01-15T09:30:01.000000Z",
        "decided_at": "2026-01-15T11:30:01.000000Z",
        "reason": None,
    }
    (decided,) = search(team.db, AuditFilters(subject_type="merchant", action="bank_account_change_approved")).records
    assert (decided.action, decided.actor_kind, decided.actor_id) == ("bank_account_change_approved", "cli", "tests")
    assert decided.before == {"change_id": change.id, "status": "pending"}
    assert decided.after == {
        "change_id": change.id,
        "status": "approved",
        "iban_last4": "3000",
        "previous_iban_last4": "2606",
    }
    with team.db.transaction(write=False) as tx:  # the full number is in no event and no record
        stored = [row[0] for row in tx.fetchall("SELECT data FROM events")]
        stored += [row[0] for row in tx.fetchall("SELECT detail FROM merchant_audit")]
        stored += [f"{row[0]} {row[1]}" for row in tx.fetchall("SELECT before, after FROM staff_audit")]
    assert not any(NEW_IBAN in text or IBAN in text for text in stored)


def test_a_rejection_gives_a_reason_and_the_merchant_keeps_its_account(team: Team, changes: BankAccountChanges) -> None:
    owner = team.member("owner@example.org")
    change = changes.request(actor(owner), NEW_IBAN)
    with pytest.raises(InvalidBankChange) as no_reason:
        changes.reject(team.shop, change.id, "  \n ", by="command line", actor=OPERATOR)
    assert no_reason.value.param == "reason"
    team.clock.advance(seconds=1)
    rejected = changes.reject(
        team.shop, change.id, "The account holder's name\nis not the shop's.", by="command line", actor=OPERATOR
    )
    assert (rejected.status, rejected.reason) == ("rejected", "The account holder's name is not the shop's.")
    assert team.merchants.get(team.shop).iban == IBAN
    assert changes.state(actor(owner)).last_decided == rejected
    assert team.users.activity(actor(owner))[0].detail == {
        "iban": "DE****************3000",
        "reason": "The account holder's name is not the shop's.",
        "by": "command line",
    }
    kind, data = _events(team.db, team, team.shop)[-1]
    assert (kind, data["status"], data["reason"]) == (BANK_CHANGE_EVENTS["rejected"], "rejected", rejected.reason)
    # A rejected change is announced for 14 days after its decision, then no more.
    team.clock.advance(days=13, hours=23)
    assert changes.announcement(actor(owner)) == rejected
    team.clock.advance(hours=1)
    assert changes.announcement(actor(owner)) is None


def test_a_decision_repeated_changes_nothing_and_the_opposite_one_is_refused(
    team: Team, changes: BankAccountChanges
) -> None:
    owner = team.member("owner@example.org")
    change = changes.request(actor(owner), NEW_IBAN)
    approved = changes.approve(team.shop, change.id, by="operator key 1", actor=OPERATOR)
    team.clock.advance(minutes=5)
    assert (
        changes.approve(team.shop, change.id, by="operator key 2", actor=OPERATOR) == approved
    )  # the first decision stands
    with pytest.raises(BankChangeDecided) as refused:
        changes.reject(team.shop, change.id, "too late", by="operator key 2", actor=OPERATOR)
    assert (refused.value.status, refused.value.extensions()) == (409, {"change_status": "approved"})
    with pytest.raises(BankChangeDecided):
        changes.withdraw(actor(owner), change.id)
    assert [kind for kind, _ in _events(team.db, team, team.shop)].count(BANK_CHANGE_EVENTS["approved"]) == 1
    assert [r.action for r in team.users.activity(actor(owner))].count("bank_account_changed") == 1
    decisions = search(team.db, AuditFilters(subject_id=team.shop, action="bank_account_change_approved"))
    assert len(decisions.records) == 1
    finance = StaffActor("key", "3", Role.FINANCE)
    with pytest.raises(RoleForbids):
        changes.reject(team.shop, change.id, "too late", by="operator key 3", actor=finance)


def test_one_pending_change_at_a_time_a_second_request_is_refused_until_the_first_is_withdrawn(
    team: Team, changes: BankAccountChanges
) -> None:
    owner, partner = team.member("owner@example.org"), team.member("partner@example.org")
    first = changes.request(actor(owner), NEW_IBAN)
    with pytest.raises(BankChangePending) as pending:
        changes.request(actor(partner), OTHER_IBAN)
    assert (pending.value.status, pending.value.extensions()) == (409, {"change_id": first.id})
    withdrawn = changes.withdraw(actor(partner), first.id)
    assert (withdrawn.status, withdrawn.decided_by) == ("withdrawn", partner.id)
    assert changes.withdraw(actor(partner), first.id) == withdrawn
    with pytest.raises(BankChangeDecided):
        changes.approve(team.shop, first.id, by="operator key 1", actor=OPERATOR)
    team.clock.advance(minutes=1)
    second = changes.request(actor(partner), OTHER_IBAN)
    assert changes.state(actor(owner)).pending == second
    assert [c.id for c in changes.list(team.shop)] == [second.id, first.id]
    assert [c.id for c in changes.list(team.shop, status="pending")] == [second.id]
    assert [c.id for c in changes.list(team.shop, limit=1, starting_after=second.id)] == [first.id]
    assert [c.id for c in changes.queue()] == [second.id]
    withdrawals = [r for r in team.users.activity(actor(owner)) if r.action == "bank_account_change_withdrawn"]
    assert [(r.user_id, r.object_id) for r in withdrawals] == [(partner.id, first.id)]


def test_two_owners_asking_at_once_leave_one_pending_change(team: Team, changes: BankAccountChanges) -> None:
    owners = [team.member(f"owner{n}@example.org") for n in range(2)]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def ask(n: int) -> None:
        barrier.wait()
        try:
            changes.request(actor(owners[n]), (NEW_IBAN, OTHER_IBAN)[n])
            outcomes.append("pending")
        except BankChangePending:
            outcomes.append("refused")

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["pending", "refused"]
    assert len(changes.list(team.shop, status="pending")) == 1


def test_the_new_account_is_checked_as_a_registration_is(team: Team, changes: BankAccountChanges) -> None:
    owner = team.member("owner@example.org")
    with pytest.raises(InvalidIban):
        changes.request(actor(owner), "DE89370400440532013001")  # a check digit off
    with pytest.raises(InvalidBic) as wrong_bic:
        changes.request(actor(owner), NEW_IBAN, "BNPAFRPP")  # a French bank for a German account
    assert wrong_bic.value.param == "bic"
    with pytest.raises(InvalidBankChange) as same:
        changes.request(actor(owner), IBAN.lower())
    assert same.value.param == "iban"
    assert [e.code for e in bank_change_problems("", None)] == ["invalid_iban"]
    assert bank_change_problems(NEW_IBAN, "") == []
    assert changes.list(team.shop) == []


def test_only_owners_ask_and_a_removed_owner_no_longer_can(team: Team, changes: BankAccountChanges) -> None:
    owner = team.member("owner@example.org")
    for role in ("accountant", "support"):
        user = team.member(f"{role}@example.org", role)
        with pytest.raises(NotAllowed):
            changes.request(actor(user), NEW_IBAN)
        with pytest.raises(NotAllowed):
            changes.state(actor(user))
    leaving = team.member("leaving@example.org")
    team.users.remove(actor(owner), leaving.id)
    with pytest.raises(NotAllowed):
        changes.request(actor(leaving), NEW_IBAN)  # the stale actor is re-read under the lock
    assert changes.list(team.shop) == []


def test_another_merchants_change_is_not_found_from_either_side(team: Team, changes: BankAccountChanges) -> None:
    owner = team.member("owner@example.org")
    other_owner = team.member("other@example.org", merchant=team.other_shop)
    theirs = changes.request(actor(other_owner), NEW_IBAN)
    with pytest.raises(UnknownBankChange):
        changes.withdraw(actor(owner), theirs.id)
    with pytest.raises(UnknownBankChange):
        changes.approve(
            team.shop, theirs.id, by="operator key 1", actor=OPERATOR
        )  # the merchant's id and the change's must agree
    with pytest.raises(UnknownBankChange):
        changes.get(team.shop, theirs.id)
    with pytest.raises(UnknownBankChange):
        changes.list(team.shop, starting_after=theirs.id)
    with pytest.raises(UnknownMerchant):
        changes.reject("mer_nobody", theirs.id, "no", by="operator key 1", actor=OPERATOR)
    assert changes.state(actor(owner)).pending is None
    assert changes.get(team.other_shop, theirs.id).status == "pending"


def test_the_table_holds_one_pending_change_per_merchant_whatever_the_code_does(team: Team) -> None:
    owner = team.member("owner@example.org")
    row = (
        "INSERT INTO merchant_bank_changes (id, merchant_id, iban, bic, status, requested_by, requested_at) "
        "VALUES (:id, :merchant, :iban, 'COBADEFFXXX', 'pending', :by, 1)"
    )
    with team.db.transaction() as tx:
        tx.execute(row, {"id": "bac_1", "merchant": team.shop, "iban": NEW_IBAN, "by": owner.id})
    with pytest.raises(INTEGRITY_ERRORS), team.db.transaction() as tx:
        tx.execute(row, {"id": "bac_2", "merchant": team.shop, "iban": OTHER_IBAN, "by": owner.id})
