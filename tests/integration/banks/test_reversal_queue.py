"""Reversals the network could not deliver at once wait in the queue; the worker resends them until acknowledged."""

from __future__ import annotations

from datetime import timedelta
from typing import cast

import pytest

from kleline.banks import CardDetails, NoAnswer
from kleline.banks.network import BankNetwork, Reversal
from kleline.banks.reversals import ReversalQueue
from kleline.bootstrap import Kleline
from kleline.db.engine import Database
from kleline.money import Money
from kleline.worker.sweeps import SWEEPS, retry_reversals

from ...conftest import FakeClock
from ...unit.banks.harness import LossyIssuers

VISA = "4242424242424242"
CARD = CardDetails(VISA, 12, 2030, "123")


def held(lossy: LossyIssuers) -> Money:
    return lossy.issuers.balance(VISA, "EUR").held


def test_a_reversal_that_cannot_be_delivered_is_queued_and_resent_by_the_sweep_until_acknowledged(
    kleline: Kleline, lossy: LossyIssuers, clock: FakeClock
) -> None:
    lossy.lose.add("0100")  # the issuer approves and holds; its answer is lost
    lossy.drop.add("0400")  # and the reversal sent at once never arrives
    with pytest.raises(NoAnswer):
        kleline.bank.authorize(CARD, Money(2500, "EUR"), "pay_lost")
    assert held(lossy) == Money(2500, "EUR")
    (queued,) = kleline.reversals.pending()
    assert (queued.reason, queued.attempts, queued.open) == ("no_answer", 0, True)

    assert retry_reversals(kleline) == 0  # the network still loses it
    retried = kleline.reversals.get(queued.rrn)
    assert retried is not None and retried.open
    assert (retried.attempts, retried.last_error) == (1, "issuer_unavailable")

    lossy.drop.clear()
    assert retry_reversals(kleline) == 0  # not due yet: it waits before trying again
    assert lossy.seen.count("0400") == 0
    clock.advance(seconds=11)
    assert retry_reversals(kleline) == 1
    closed = kleline.reversals.get(queued.rrn)
    assert closed is not None and not closed.open
    assert (closed.outcome, closed.done_at, closed.attempts) == ("00", clock.now, 2)
    assert held(lossy) == Money(0, "EUR")

    clock.advance(hours=2)
    assert retry_reversals(kleline) == 0
    assert lossy.seen.count("0400") == 1
    assert kleline.reversals.pending() == []


def test_a_reversal_of_an_authorisation_the_issuer_never_saw_closes_as_unknown(
    kleline: Kleline, lossy: LossyIssuers, clock: FakeClock
) -> None:
    lossy.drop.update({"0100", "0400"})
    with pytest.raises(NoAnswer):
        kleline.bank.authorize(CARD, Money(800, "EUR"), "pay_never_seen")
    (queued,) = kleline.reversals.pending()
    lossy.drop.clear()
    assert retry_reversals(kleline) == 1
    closed = kleline.reversals.get(queued.rrn)
    assert closed is not None and closed.outcome == "25"
    assert held(lossy) == Money(0, "EUR")


def test_queuing_a_reversal_again_reopens_it_and_it_is_sent_again_harmlessly(
    kleline: Kleline, lossy: LossyIssuers
) -> None:
    authorization = kleline.bank.authorize(CARD, Money(300, "EUR"), "pay_twice")
    assert authorization.authorization_id is not None
    kleline.reversals.enqueue(authorization.authorization_id, "no_answer")
    kleline.reversals.enqueue(authorization.authorization_id, "no_answer")
    assert len(kleline.reversals.pending()) == 1
    assert retry_reversals(kleline) == 1
    kleline.reversals.enqueue(authorization.authorization_id, "operator")
    reopened = kleline.reversals.get(authorization.authorization_id)
    assert reopened is not None and reopened.open and reopened.reason == "operator"
    assert retry_reversals(kleline) == 1
    assert lossy.seen.count("0400") == 2
    assert held(lossy) == Money(0, "EUR")


def test_the_worker_runs_the_reversal_sweep() -> None:
    assert "banks.retry_reversals" in {sweep.name for sweep in SWEEPS}


class _SilentNetwork:
    """A card network whose every reversal goes unanswered."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def reverse(self, authorization_id: str) -> Reversal:
        self.sent.append(authorization_id)
        raise NoAnswer("the card network did not answer")


def test_a_reversal_retried_through_a_long_outage_keeps_its_capped_pause_and_does_not_stall_the_sweep(
    db: Database, clock: FakeClock
) -> None:
    queue = ReversalQueue(db, clock=clock, first_retry=timedelta(seconds=10), max_delay=timedelta(hours=1))
    silent = _SilentNetwork()
    queue.enqueue("OUTAGE000001", "no_answer")
    for _ in range(60):  # two and a half days of hourly retries: the pause must stay capped at an hour
        assert queue.retry(cast(BankNetwork, silent)) == 0
        clock.advance(hours=1, seconds=1)
    queued = queue.get("OUTAGE000001")
    assert queued is not None and queued.open and queued.attempts == 60
    assert queued.next_attempt_at - clock.now <= timedelta(hours=1)
    assert len(silent.sent) == 60
