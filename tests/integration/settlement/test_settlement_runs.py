"""Settlement runs as an operator lives them: who is paid, how much, what the books and the pain.001 file say."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest

from kleline.bootstrap import Kleline
from kleline.errors import ValidationError
from kleline.merchants.model import balance_account
from kleline.money import Money
from kleline.sepa import read_credit_transfers, sepa_reference, validate_pain
from kleline.settlement import NoSettlementFile, Settlement, SettlementPeriodClosed, payout_id

from ...conftest import FakeClock
from ...operator_keys import OPERATOR
from ..helpers import book_snapshot
from .conftest import IBANS, TODAY, balance, balanced, fund, merchant


def in_transit(kleline: Kleline) -> str:
    return kleline.own_account.in_transit_code


def interrupt_after_first_batch(kleline: Kleline, clock: FakeClock, *, batch_size: int) -> None:
    """Start today's run in batches of ``batch_size`` and let the process die once its first batch committed."""

    def crash_after_first_batch(step: str) -> None:
        if step == "paid":
            raise KeyboardInterrupt  # the process dies between two batches

    crashing = Settlement(
        kleline.db,
        kleline.ledger,
        kleline.own_account,
        clock=clock,
        minimum=1_000,
        batch_size=batch_size,
        on_step=crash_after_first_batch,
    )
    with pytest.raises(KeyboardInterrupt):
        crashing.run(actor=OPERATOR)


def test_a_run_pays_each_active_merchant_its_whole_available_balance_in_one_valid_file(kleline: Kleline) -> None:
    librairie = merchant(kleline, "Librairie Kléber", iban=IBANS[0])
    fromagerie = merchant(kleline, "Fromagerie Vaubourg", iban=IBANS[1])
    fund(kleline, librairie, 12_345)
    fund(kleline, fromagerie, 1_000)  # exactly the minimum: paid

    run = kleline.settlement.run(actor=OPERATOR)

    assert (run.period, run.status, run.payout_count, run.total) == (TODAY, "complete", 2, 13_345)
    assert balance(kleline, balance_account(librairie)) == 0
    assert balance(kleline, balance_account(fromagerie)) == 0
    # In-transit is an asset: credited by the payouts until the statement shows the money leaving.
    assert balance(kleline, in_transit(kleline)) == -13_345
    assert balanced(kleline)

    payouts = {p.merchant_id: p for p in kleline.settlement.run_payouts(run.id)}
    assert {m: (p.amount, p.status) for m, p in payouts.items()} == {
        librairie: (Money(12_345, "EUR"), "in_transit"),
        fromagerie: (Money(1_000, "EUR"), "in_transit"),
    }
    assert payouts[librairie].id == payout_id(run.id, librairie)
    # The transfer carries the id in SEPA's character set, which has no underscore.
    assert payouts[librairie].end_to_end_id == payouts[librairie].id.replace("po_", "po-")
    sent = kleline.ledger.entry(f"{payouts[librairie].id}:sent")
    assert sent.metadata == {"payout": payouts[librairie].id, "merchant": librairie, "settlement_run": run.id}

    file = kleline.settlement.run_file(run.id)
    assert validate_pain(file) == "pain.001.001.03"
    debtor, transfers = read_credit_transfers(file)
    assert debtor == kleline.own_account.iban
    assert sorted((t.end_to_end_id, t.amount.minor, t.iban, t.remittance) for t in transfers) == sorted(
        [
            (payouts[librairie].end_to_end_id, 12_345, IBANS[0], "Kleline payout 2026-01-15"),
            (payouts[fromagerie].end_to_end_id, 1_000, IBANS[1], "Kleline payout 2026-01-15"),
        ]
    )
    assert f"<MsgId>{sepa_reference(run.id)}</MsgId>".encode() in file
    assert b"<ReqdExctnDt>2026-01-15</ReqdExctnDt>" in file


def test_merchants_below_the_minimum_or_pending_are_not_paid(kleline: Kleline) -> None:
    small = merchant(kleline, "Petit Commerce")
    pending = merchant(kleline, "En Attente", approve=False)
    fund(kleline, small, 999)
    empty = merchant(kleline, "Sans Ventes")

    run = kleline.settlement.run(actor=OPERATOR)

    assert (run.status, run.payout_count, run.total) == ("complete", 0, 0)
    assert balance(kleline, balance_account(small)) == 999
    assert kleline.settlement.list_payouts() == ([], False)
    assert {pending, empty}.isdisjoint(p.merchant_id for p in kleline.settlement.run_payouts(run.id))
    with pytest.raises(NoSettlementFile):
        kleline.settlement.run_file(run.id)


def test_a_suspended_merchant_is_still_paid_what_it_earned(kleline: Kleline) -> None:
    suspended = merchant(kleline, "Suspendu")
    fund(kleline, suspended, 50_000)
    kleline.merchants.suspend(suspended, actor=OPERATOR)

    run = kleline.settlement.run(actor=OPERATOR)

    assert (run.status, run.payout_count, run.total) == ("complete", 1, 50_000)
    assert balance(kleline, balance_account(suspended)) == 0
    assert [p.merchant_id for p in kleline.settlement.run_payouts(run.id)] == [suspended]
    assert balanced(kleline)


def test_the_same_period_again_is_the_same_run_and_pays_nobody_twice(kleline: Kleline, clock: FakeClock) -> None:
    shop = merchant(kleline, "Librairie Kléber")
    fund(kleline, shop, 5_000)
    first = kleline.settlement.run(actor=OPERATOR)
    file = kleline.settlement.run_file(first.id)
    fund(kleline, shop, 7_000)  # sold more the same day, after the run
    clock.advance(hours=3)

    again = kleline.settlement.run(TODAY, actor=OPERATOR)

    assert again == first
    assert kleline.settlement.run_file(again.id) == file
    assert balance(kleline, balance_account(shop)) == 7_000
    assert len(kleline.settlement.list_payouts(merchant_id=shop)[0]) == 1

    clock.advance(days=1)
    tomorrow = kleline.settlement.run(actor=OPERATOR)
    assert tomorrow.id != first.id and tomorrow.period == TODAY + timedelta(days=1)
    assert (tomorrow.payout_count, tomorrow.total) == (1, 7_000)
    assert balance(kleline, balance_account(shop)) == 0
    assert balance(kleline, in_transit(kleline)) == -12_000
    assert kleline.settlement.find_run(TODAY) == first


def test_a_future_period_is_refused_and_writes_nothing(kleline: Kleline) -> None:
    shop = merchant(kleline, "Librairie Kléber")
    fund(kleline, shop, 5_000)
    before = book_snapshot(kleline.db)

    with pytest.raises(ValidationError) as refused:
        kleline.settlement.run(TODAY + timedelta(days=1), actor=OPERATOR)

    assert refused.value.param == "period"
    assert book_snapshot(kleline.db) == before
    assert kleline.settlement.list_runs() == ([], False)


def test_a_past_period_that_never_ran_is_refused_and_writes_nothing(kleline: Kleline) -> None:
    shop = merchant(kleline, "Librairie Kléber")
    fund(kleline, shop, 5_000)
    before = book_snapshot(kleline.db)

    with pytest.raises(SettlementPeriodClosed) as refused:
        kleline.settlement.run(date(2026, 1, 10), actor=OPERATOR)

    assert (refused.value.status, refused.value.code, refused.value.param) == (
        409,
        "settlement_period_closed",
        "period",
    )
    assert "settle today's period (2026-01-15) instead" in refused.value.detail
    assert book_snapshot(kleline.db) == before
    assert kleline.settlement.list_runs() == ([], False)
    assert balance(kleline, balance_account(shop)) == 5_000


def test_a_past_period_returns_the_run_started_that_day(kleline: Kleline, clock: FakeClock) -> None:
    shop = merchant(kleline, "Librairie Kléber")
    fund(kleline, shop, 5_000)
    first = kleline.settlement.run(actor=OPERATOR)
    clock.advance(days=2)
    fund(kleline, shop, 7_000)  # sold since: the next run pays it, not the old period's

    again = kleline.settlement.run(TODAY, actor=OPERATOR)

    assert again == first
    assert balance(kleline, balance_account(shop)) == 7_000


def test_a_past_period_interrupted_that_day_is_finished_on_a_later_day(kleline: Kleline, clock: FakeClock) -> None:
    shops = [merchant(kleline, f"Boutique {i}") for i in range(3)]
    for shop in shops:
        fund(kleline, shop, 2_000)

    interrupt_after_first_batch(kleline, clock, batch_size=1)
    clock.advance(days=1)

    finished = kleline.settlement.run(TODAY, actor=OPERATOR)

    assert (finished.period, finished.status, finished.payout_count, finished.total) == (TODAY, "complete", 3, 6_000)
    assert all(balance(kleline, balance_account(shop)) == 0 for shop in shops)
    assert balanced(kleline)


def test_runs_in_small_batches_pay_everyone_once_in_merchant_order(kleline: Kleline, clock: FakeClock) -> None:
    shops = sorted(merchant(kleline, f"Boutique {i}", iban=IBANS[i % len(IBANS)]) for i in range(7))
    for i, shop in enumerate(shops):
        fund(kleline, shop, 1_000 + i)
    settlement = Settlement(kleline.db, kleline.ledger, kleline.own_account, clock=clock, minimum=1_000, batch_size=2)

    run = settlement.run(actor=OPERATOR)

    assert (run.payout_count, run.total) == (7, sum(1_000 + i for i in range(7)))
    _, transfers = read_credit_transfers(settlement.run_file(run.id))
    assert [t.end_to_end_id for t in transfers] == [sepa_reference(payout_id(run.id, shop)) for shop in shops]
    assert all(balance(kleline, balance_account(shop)) == 0 for shop in shops)
    assert balanced(kleline)


def test_long_merchant_names_are_cut_to_what_sepa_banks_carry(kleline: Kleline) -> None:
    shop = merchant(kleline, "Établissements " + "très " * 30 + "longs")
    fund(kleline, shop, 2_000)

    run = kleline.settlement.run(actor=OPERATOR)

    (payout,) = kleline.settlement.run_payouts(run.id)
    assert len(payout.creditor.name) <= 70
    assert validate_pain(kleline.settlement.run_file(run.id)) == "pain.001.001.03"


def test_two_processes_settling_the_same_period_at_once_pay_each_merchant_once(
    kleline: Kleline, clock: FakeClock
) -> None:
    shops = [merchant(kleline, f"Boutique {i}") for i in range(6)]
    for shop in shops:
        fund(kleline, shop, 3_000)
    runners = [
        Settlement(kleline.db, kleline.ledger, kleline.own_account, clock=clock, minimum=1_000, batch_size=1)
        for _ in range(2)
    ]
    results: list[object] = []
    start = threading.Barrier(2)

    def settle(settlement: Settlement) -> None:
        start.wait()
        results.append(settlement.run(actor=OPERATOR))

    threads = [threading.Thread(target=settle, args=(runner,)) for runner in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(results) == 2 and results[0] == results[1]
    payouts, _ = kleline.settlement.list_payouts(limit=100)
    assert sorted(p.merchant_id for p in payouts) == sorted(shops)
    assert balance(kleline, in_transit(kleline)) == -18_000
    assert all(balance(kleline, balance_account(shop)) == 0 for shop in shops)
    _, transfers = read_credit_transfers(kleline.settlement.run_file(payouts[0].settlement_run_id))
    assert len(transfers) == 6
    assert balanced(kleline)


def test_payouts_page_newest_first_and_filter_by_merchant_run_and_status(kleline: Kleline, clock: FakeClock) -> None:
    a, b = merchant(kleline, "A"), merchant(kleline, "B")
    fund(kleline, a, 1_500)
    fund(kleline, b, 2_500)
    first = kleline.settlement.run(actor=OPERATOR)
    clock.advance(days=1)
    fund(kleline, a, 3_500, entry_id="fund-a-again")
    second = kleline.settlement.run(actor=OPERATOR)

    page, more = kleline.settlement.list_payouts(limit=2)
    assert more and page[0].settlement_run_id == second.id
    rest, more = kleline.settlement.list_payouts(limit=2, after=page[-1].id)
    assert not more and [p.settlement_run_id for p in rest] == [first.id]
    assert [p.amount.minor for p in kleline.settlement.list_payouts(merchant_id=a)[0]] == [3_500, 1_500]
    assert len(kleline.settlement.list_payouts(run_id=first.id)[0]) == 2
    assert kleline.settlement.list_payouts(status="paid") == ([], False)
    with pytest.raises(ValidationError):
        kleline.settlement.list_payouts(status="lost")
    runs, more = kleline.settlement.list_runs(limit=1)
    assert more and runs == [second]


def test_creditor_names_are_stored_exactly_whatever_characters_they_hold(kleline: Kleline) -> None:
    # On PostgreSQL a batch's payouts travel as array literals: quotes, backslashes, commas, braces and the word
    # NULL must come back as themselves.
    names = ['Chez "Max" & Fils', "Back\\slash, {brace}", "NULL", "Crêperie l'Hermine"]
    shops = {merchant(kleline, name, iban=IBANS[i % len(IBANS)]): name for i, name in enumerate(names)}
    for shop in shops:
        fund(kleline, shop, 1_500)

    run = kleline.settlement.run(actor=OPERATOR)

    payouts = kleline.settlement.run_payouts(run.id)
    assert {p.merchant_id: p.creditor.name for p in payouts} == shops
    assert {p.merchant_id: p.amount.minor for p in payouts} == dict.fromkeys(shops, 1_500)
    assert validate_pain(kleline.settlement.run_file(run.id)) == "pain.001.001.03"
    assert balanced(kleline)


def test_a_run_resumed_with_larger_batches_skips_exactly_the_merchants_already_paid(
    kleline: Kleline, clock: FakeClock
) -> None:
    shops = sorted(merchant(kleline, f"Boutique {i}", iban=IBANS[i % len(IBANS)]) for i in range(5))
    for i, shop in enumerate(shops):
        fund(kleline, shop, 1_000 + i)

    interrupt_after_first_batch(kleline, clock, batch_size=2)
    assert len(kleline.settlement.list_payouts()[0]) == 2
    for shop in shops[:2]:  # sales after their payout: for the next run, since a run pays a merchant once
        fund(kleline, shop, 2_000, entry_id=f"later-{shop}")

    # One batch now holds the two merchants paid and the three not yet paid.
    again = Settlement(kleline.db, kleline.ledger, kleline.own_account, clock=clock, minimum=1_000, batch_size=5)
    run = again.run(actor=OPERATOR)

    assert (run.status, run.payout_count, run.total) == ("complete", 5, sum(1_000 + i for i in range(5)))
    assert sorted(p.merchant_id for p in again.run_payouts(run.id)) == shops
    assert [balance(kleline, balance_account(shop)) for shop in shops] == [2_000, 2_000, 0, 0, 0]
    assert balanced(kleline)
