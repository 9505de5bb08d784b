"""Two-phase holds: reserve, commit in full or in part, void, expire."""

from datetime import timedelta

import pytest

from kleline.ledger import (
    EntryConflict,
    HoldCommitTooLarge,
    HoldNotPending,
    HoldRequest,
    HoldStatus,
    InsufficientFunds,
    InvalidEntry,
    Ledger,
    UnknownHold,
    credit,
    debit,
)
from kleline.ledger.audit import verify

from .helpers import book_snapshot, eur, open_chart, transfer

PURSE = "customer:cus_1:purse"
CARDS = "card:visa:receivable"
MERCHANT = "merchant:mer_1:balance"


def _hold(clock, hold_id: str = "hold_1", minor: int = 3000, **ttl: float) -> HoldRequest:  # type: ignore[no-untyped-def]
    return HoldRequest(
        hold_id, (debit(PURSE, eur(minor)), credit(MERCHANT, eur(minor))), clock.now + timedelta(**(ttl or {"days": 7}))
    )


@pytest.fixture
def funded(ledger: Ledger) -> Ledger:
    open_chart(ledger)
    ledger.post(transfer("ent_topup", CARDS, PURSE, 5000))
    return ledger


def test_a_hold_reserves_funds_that_can_no_longer_be_spent(funded: Ledger, clock) -> None:  # type: ignore[no-untyped-def]
    funded.hold(_hold(clock))
    balance = funded.balance(PURSE)
    assert (balance.posted, balance.held, balance.available) == (5000, 3000, 2000)
    with pytest.raises(InsufficientFunds):
        funded.post(transfer("ent_spend", PURSE, MERCHANT, 2001))
    with pytest.raises(InsufficientFunds):
        funded.hold(_hold(clock, "hold_2", 2001))
    funded.post(transfer("ent_spend", PURSE, MERCHANT, 2000))


def test_holding_the_same_hold_twice_reserves_once_and_other_content_conflicts(funded: Ledger, clock) -> None:  # type: ignore[no-untyped-def]
    funded.hold(_hold(clock))
    funded.hold(_hold(clock))
    assert funded.balance(PURSE).held == 3000
    with pytest.raises(EntryConflict):
        funded.hold(_hold(clock, minor=3001))


def test_commit_in_full_posts_the_held_entry(funded: Ledger, clock) -> None:  # type: ignore[no-untyped-def]
    funded.hold(_hold(clock))
    entry = funded.commit("hold_1")
    assert entry.id == "hold_1:commit"
    assert funded.balance(PURSE).posted == 2000
    assert funded.balance(PURSE).held == 0
    assert funded.balance(MERCHANT).posted == 3000
    assert funded.get_hold("hold_1").status is HoldStatus.COMMITTED
    assert funded.commit("hold_1").id == entry.id  # a retried commit returns the same entry
    assert funded.balance(MERCHANT).posted == 3000


def test_commit_in_part_releases_the_rest(funded: Ledger, clock) -> None:  # type: ignore[no-untyped-def]
    funded.hold(_hold(clock))
    funded.commit("hold_1", postings=(debit(PURSE, eur(1200)), credit(MERCHANT, eur(1200))))
    balance = funded.balance(PURSE)
    assert (balance.posted, balance.held, balance.available) == (3800, 0, 3800)


def test_commit_may_not_take_more_than_was_held(funded: Ledger, clock) -> None:  # type: ignore[no-untyped-def]
    funded.hold(_hold(clock))
    before = book_snapshot(funded.db)
    with pytest.raises(HoldCommitTooLarge, match="takes 3001 from customer:cus_1:purse, which has 3000 held"):
        funded.commit("hold_1", postings=(debit(PURSE, eur(3001)), credit(MERCHANT, eur(3001))))
    assert book_snapshot(funded.db) == before


def test_void_releases_everything_and_closes_the_hold(funded: Ledger, clock) -> None:  # type: ignore[no-untyped-def]
    funded.hold(_hold(clock))
    assert funded.void("hold_1").status is HoldStatus.VOIDED
    assert funded.void("hold_1").status is HoldStatus.VOIDED  # idempotent
    assert funded.balance(PURSE).available == 5000
    with pytest.raises(HoldNotPending, match="voided"):
        funded.commit("hold_1")


def test_committed_hold_cannot_be_voided(funded: Ledger, clock) -> None:  # type: ignore[no-untyped-def]
    funded.hold(_hold(clock))
    funded.commit("hold_1")
    with pytest.raises(HoldNotPending, match="committed"):
        funded.void("hold_1")


def test_the_sweep_expires_holds_past_their_time(funded: Ledger, clock) -> None:  # type: ignore[no-untyped-def]
    funded.hold(_hold(clock, "hold_short", 1000, hours=1))
    funded.hold(_hold(clock, "hold_long", 1000, days=7))
    clock.advance(hours=2)
    assert funded.expire_holds() == ["hold_short"]
    assert funded.expire_holds() == []
    assert funded.get_hold("hold_short").status is HoldStatus.EXPIRED
    assert funded.balance(PURSE).held == 1000
    with pytest.raises(HoldNotPending):
        funded.commit("hold_short")


def test_an_expired_hold_cannot_be_committed_even_before_the_sweep(funded: Ledger, clock) -> None:  # type: ignore[no-untyped-def]
    funded.hold(_hold(clock, "hold_1", 1000, hours=1))
    clock.advance(hours=1)
    with pytest.raises(HoldNotPending, match="expired"):
        funded.commit("hold_1")
    assert funded.balance(PURSE).held == 0
    assert verify(funded.db).ok


def test_bad_hold_requests_are_refused(funded: Ledger, clock) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidEntry, match="expire in the future"):
        funded.hold(_hold(clock, minor=10, seconds=-1))
    with pytest.raises(UnknownHold):
        funded.commit("hold_missing")
