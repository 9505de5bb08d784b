"""Card top-ups left ``pending`` by a crash or a silent issuer: the worker's sweep carries each to its end, once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from kleline.banks import IssuerUnavailable
from kleline.bootstrap import Kleline
from kleline.ledger import EntryRequest, InvalidEntry, NormalSide, credit, debit
from kleline.ledger.audit import trial_balance, verify
from kleline.money import Money
from kleline.wallet import top_up_store
from kleline.wallet.customers import purse_code
from kleline.wallet.limits import LimitExceeded
from kleline.worker.runner import Worker
from kleline.worker.sweeps import SWEEPS, resume_pending_top_ups

from ...conftest import FakeClock
from ...unit.banks.harness import LossyIssuers
from ..helpers import book_snapshot, count_rows, eur

VISA = "4242424242424242"
RECEIVABLE = "card:visa:receivable"


class Crash(Exception):
    """The process died here."""


def _crash_after(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> None:
    """Let ``owner.name`` do its work, then die before the caller can record the outcome."""
    real = getattr(owner, name)

    def crashing(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)
        raise Crash(name)

    monkeypatch.setattr(owner, name, crashing)


def customer_with_card(kleline: Kleline, email: str = "ada@example.org") -> tuple[str, str]:
    """A customer with a registered Visa card; their ids."""
    customer = kleline.customers.sign_up(email, "correct horse battery staple", "Ada")
    card = kleline.cards.register(customer.id, VISA, 12, 2030, "123", "Ada Lovelace")
    return customer.id, card.id


def crashed_top_up(kleline: Kleline, monkeypatch: pytest.MonkeyPatch, after: str, customer: str, card: str) -> str:
    """A top-up of 20 EUR whose process died right after the issuer answered ``after``; its id."""
    with monkeypatch.context() as patch:
        _crash_after(patch, kleline.bank, after)
        with pytest.raises(Crash):
            kleline.top_ups.top_up(customer, eur(2000), card)
    return only_top_up(kleline, customer)


def only_top_up(kleline: Kleline, customer_id: str) -> str:
    with kleline.db.transaction(write=False) as tx:
        rows = tx.fetchall("SELECT id FROM top_ups WHERE customer_id = :c", {"c": customer_id})
    assert len(rows) == 1
    return str(rows[0][0])


def state(kleline: Kleline, top_up_id: str) -> tuple[str, str | None]:
    """The stored top-up's status and failure code."""
    with kleline.db.transaction(write=False) as tx:
        found = top_up_store.load_top_up(tx, top_up_id)
    assert found is not None
    return found.top_up.status, found.top_up.failure_code


def cardholder(lossy: LossyIssuers) -> tuple[Money, Money]:
    """The cardholder's posted and held balance at the issuer."""
    found = lossy.issuers.balance(VISA, "EUR")
    return found.posted, found.held


def purse(kleline: Kleline, customer_id: str) -> int:
    return kleline.ledger.balance(purse_code(customer_id)).posted


def has_entry(kleline: Kleline, entry_id: str) -> bool:
    try:
        kleline.ledger.entry(entry_id)
    except InvalidEntry:
        return False
    return True


def test_a_top_up_captured_before_a_crash_is_credited_once_by_the_sweep_after_its_grace(
    kleline: Kleline, lossy: LossyIssuers, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ada, card = customer_with_card(kleline)
    opening, _ = cardholder(lossy)
    top_up = crashed_top_up(kleline, monkeypatch, "capture", ada, card)
    assert state(kleline, top_up) == ("pending", None)
    assert cardholder(lossy) == (opening - eur(2000), eur(0))  # the money is taken...
    assert purse(kleline, ada) == 0  # ...and not yet in the purse

    clock.advance(minutes=1)
    assert resume_pending_top_ups(kleline) == 0  # still within the grace a live request gets
    clock.advance(minutes=2)
    assert resume_pending_top_ups(kleline) == 1
    assert state(kleline, top_up) == ("succeeded", None)
    assert purse(kleline, ada) == 2000
    assert kleline.ledger.balance(RECEIVABLE).posted == 2000
    assert [p.account for p in kleline.ledger.entry(top_up).postings] == [RECEIVABLE, purse_code(ada)]

    assert resume_pending_top_ups(kleline) == 0
    assert purse(kleline, ada) == 2000
    assert cardholder(lossy) == (opening - eur(2000), eur(0))  # captured once
    assert trial_balance(kleline.db).balanced
    assert verify(kleline.db).ok


def test_a_top_up_authorised_before_a_crash_is_released_and_fails_with_nothing_in_the_books(
    kleline: Kleline, lossy: LossyIssuers, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ada, card = customer_with_card(kleline)
    opening, _ = cardholder(lossy)
    before = book_snapshot(kleline.db)
    top_up = crashed_top_up(kleline, monkeypatch, "authorize", ada, card)
    assert cardholder(lossy) == (opening, eur(2000))  # held at the issuer; its id was never recorded
    clock.advance(minutes=3)
    seen = len(lossy.seen)
    assert resume_pending_top_ups(kleline) == 1
    # Asked again under the same reference (the first answer, no second hold), then reversed.
    assert lossy.seen[seen:] == ["0100", "0400"]
    assert state(kleline, top_up) == ("failed", "interrupted")
    assert cardholder(lossy) == (opening, eur(0))
    assert book_snapshot(kleline.db) == before
    assert not has_entry(kleline, top_up)


def test_an_unanswered_issuer_leaves_the_top_up_pending_until_it_answers_then_it_is_credited_once(
    kleline: Kleline, lossy: LossyIssuers, clock: FakeClock
) -> None:
    ada, card = customer_with_card(kleline)
    opening, _ = cardholder(lossy)
    lossy.lose.update({"0220", "0400"})  # the issuer captures; the answers to the captures and the reversal are lost
    with pytest.raises(IssuerUnavailable):
        kleline.top_ups.top_up(ada, eur(2000), card)
    top_up = only_top_up(kleline, ada)
    assert state(kleline, top_up) == ("pending", None)
    assert cardholder(lossy) == (opening - eur(2000), eur(0))

    clock.advance(minutes=3)
    assert resume_pending_top_ups(kleline) == 0  # still no answer: left for the next pass
    assert state(kleline, top_up) == ("pending", None)
    assert purse(kleline, ada) == 0
    lossy.lose.clear()
    clock.advance(minutes=1)
    assert resume_pending_top_ups(kleline) == 1
    assert state(kleline, top_up) == ("succeeded", None)
    assert purse(kleline, ada) == 2000
    assert cardholder(lossy) == (opening - eur(2000), eur(0))
    assert trial_balance(kleline.db).balanced


def test_a_released_authorisation_fails_the_top_up_and_moves_nothing_in_the_books(
    kleline: Kleline, lossy: LossyIssuers, clock: FakeClock
) -> None:
    ada, card = customer_with_card(kleline)
    opening, _ = cardholder(lossy)
    before = book_snapshot(kleline.db)
    lossy.drop.add("0220")  # the captures never reach the issuer...
    lossy.lose.add("0400")  # ...which releases the hold on the reversal, whose answer is lost
    with pytest.raises(IssuerUnavailable):
        kleline.top_ups.top_up(ada, eur(2000), card)
    top_up = only_top_up(kleline, ada)
    assert state(kleline, top_up) == ("pending", None)
    assert cardholder(lossy) == (opening, eur(0))
    lossy.drop.clear()
    lossy.lose.clear()
    clock.advance(minutes=3)
    assert resume_pending_top_ups(kleline) == 1
    assert state(kleline, top_up) == ("failed", "interrupted")
    assert cardholder(lossy) == (opening, eur(0))
    assert purse(kleline, ada) == 0
    assert book_snapshot(kleline.db) == before
    assert not has_entry(kleline, top_up)


def test_concurrent_sweeps_credit_a_crashed_top_up_once(
    kleline: Kleline, lossy: LossyIssuers, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ada, card = customer_with_card(kleline)
    top_up = crashed_top_up(kleline, monkeypatch, "capture", ada, card)
    entries = count_rows(kleline.db, "ledger_entries")
    clock.advance(minutes=3)
    start = threading.Barrier(4)

    def sweep(_: int) -> int:
        start.wait()
        return resume_pending_top_ups(kleline)

    with ThreadPoolExecutor(4) as pool:
        ended = list(pool.map(sweep, range(4)))
    assert all(count <= 1 for count in ended) and sum(ended) >= 1
    assert state(kleline, top_up) == ("succeeded", None)
    assert purse(kleline, ada) == 2000
    assert count_rows(kleline.db, "ledger_entries") == entries + 1
    assert resume_pending_top_ups(kleline) == 0
    assert purse(kleline, ada) == 2000
    assert trial_balance(kleline.db).balanced


def test_concurrent_credits_of_one_captured_top_up_post_it_once(
    kleline: Kleline, monkeypatch: pytest.MonkeyPatch
) -> None:
    ada, card = customer_with_card(kleline)
    top_up = crashed_top_up(kleline, monkeypatch, "capture", ada, card)
    with kleline.db.transaction(write=False) as tx:
        found = top_up_store.load_top_up(tx, top_up)
    assert found is not None and found.authorization_id is not None  # recorded before the capture
    authorization_id = found.authorization_id
    entries = count_rows(kleline.db, "ledger_entries")
    start = threading.Barrier(4)

    def credit_it(_: int) -> str:
        start.wait()
        return kleline.top_ups.credit(top_up, authorization_id, "visa").status

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(credit_it, range(4))) == ["succeeded"] * 4
    assert purse(kleline, ada) == 2000
    assert count_rows(kleline.db, "ledger_entries") == entries + 1


def _sweep_during(
    monkeypatch: pytest.MonkeyPatch, kleline: Kleline, clock: FakeClock, name: str, *, before: bool
) -> list[int]:
    """Make the issuer call ``name`` of a live request so slow that the sweep runs meanwhile (before the call
    reaches the issuer, or after the issuer acted on it); the sweep's counts."""
    real = getattr(kleline.bank, name)
    counts: list[int] = []

    def slow(*args: Any, **kwargs: Any) -> Any:
        if not counts:
            clock.advance(minutes=3)
            if before:
                counts.append(resume_pending_top_ups(kleline))
                return real(*args, **kwargs)
            answer = real(*args, **kwargs)
            counts.append(resume_pending_top_ups(kleline))
            return answer
        return real(*args, **kwargs)

    monkeypatch.setattr(kleline.bank, name, slow)
    return counts


def test_a_slow_request_and_the_sweep_meeting_after_the_capture_credit_the_purse_once(
    kleline: Kleline, lossy: LossyIssuers, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ada, card = customer_with_card(kleline)
    opening, _ = cardholder(lossy)
    counts = _sweep_during(monkeypatch, kleline, clock, "capture", before=False)
    done = kleline.top_ups.top_up(ada, eur(2000), card)
    assert counts == [1]  # the sweep found it captured and credited it...
    assert done.status == "succeeded"  # ...and the request, finishing late, found it done
    assert purse(kleline, ada) == 2000
    assert cardholder(lossy) == (opening - eur(2000), eur(0))
    assert trial_balance(kleline.db).balanced


def test_a_slow_request_whose_capture_comes_after_the_sweep_released_it_fails_and_takes_nothing(
    kleline: Kleline, lossy: LossyIssuers, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ada, card = customer_with_card(kleline)
    opening, _ = cardholder(lossy)
    counts = _sweep_during(monkeypatch, kleline, clock, "capture", before=True)
    done = kleline.top_ups.top_up(ada, eur(2000), card)
    assert counts == [1]
    assert (done.status, done.failure_code) == ("failed", "interrupted")
    assert state(kleline, done.id) == ("failed", "interrupted")
    assert purse(kleline, ada) == 0
    assert cardholder(lossy) == (opening, eur(0))


def test_a_pending_top_up_counts_against_the_purse_ceiling_until_the_sweep_fails_it(
    make_kleline: Callable[..., Kleline], clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    kleline = make_kleline(unverified_max_balance=2500)
    ada, card = customer_with_card(kleline)
    top_up = crashed_top_up(kleline, monkeypatch, "authorize", ada, card)
    with pytest.raises(LimitExceeded):
        kleline.top_ups.top_up(ada, eur(1000), card)  # 20 EUR under way + 10 EUR > the 25 EUR ceiling
    clock.advance(minutes=3)
    assert resume_pending_top_ups(kleline) == 1
    assert state(kleline, top_up) == ("failed", "interrupted")
    assert kleline.top_ups.top_up(ada, eur(2500), card).status == "succeeded"
    assert purse(kleline, ada) == 2500


def test_a_top_up_whose_entry_an_older_release_posted_before_its_status_is_finished_without_a_second_post(
    kleline: Kleline, lossy: LossyIssuers, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ada, card = customer_with_card(kleline)
    top_up = crashed_top_up(kleline, monkeypatch, "capture", ada, card)
    # Earlier releases posted the entry in a transaction of its own, before recording the status.
    kleline.ledger.open_account(RECEIVABLE, "EUR", NormalSide.DEBIT)
    kleline.ledger.post(
        EntryRequest(
            top_up,
            (debit(RECEIVABLE, eur(2000)), credit(purse_code(ada), eur(2000))),
            "purse top-up by card",
            {"top_up": top_up, "card": card},
        )
    )
    entries = count_rows(kleline.db, "ledger_entries")
    clock.advance(minutes=3)
    assert resume_pending_top_ups(kleline) == 1
    assert state(kleline, top_up) == ("succeeded", None)
    assert purse(kleline, ada) == 2000
    assert count_rows(kleline.db, "ledger_entries") == entries


def test_a_top_up_whose_card_was_removed_before_its_authorisation_was_recorded_fails(
    kleline: Kleline, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ada, card = customer_with_card(kleline)
    top_up = crashed_top_up(kleline, monkeypatch, "authorize", ada, card)
    kleline.cards.remove(ada, card)
    clock.advance(minutes=3)
    assert resume_pending_top_ups(kleline) == 1
    assert state(kleline, top_up) == ("failed", "card_removed")


def test_the_worker_runs_the_top_up_sweep(kleline: Kleline, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    sweep = next(sweep for sweep in SWEEPS if sweep.name == "wallet.resume_pending_top_ups")
    ada, card = customer_with_card(kleline)
    top_up = crashed_top_up(kleline, monkeypatch, "capture", ada, card)
    clock.advance(minutes=3)
    report = Worker(kleline, sweeps=[sweep]).run_once()
    assert report.sweeps == {"wallet.resume_pending_top_ups": 1} and report.errors == ()
    assert state(kleline, top_up) == ("succeeded", None)
