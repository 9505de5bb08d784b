"""A payout's id and a run's dates: derived, never drawn, so that a rerun names the same things."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from kleline.settlement import SettlementRun, payout_id
from kleline.settlement.model import remittance


def test_a_payout_id_is_one_per_run_and_merchant_and_fits_a_sepa_end_to_end_id() -> None:
    first = payout_id("sr_1", "mer_1")

    assert first == payout_id("sr_1", "mer_1")
    assert len({first, payout_id("sr_2", "mer_1"), payout_id("sr_1", "mer_2")}) == 3
    assert re.fullmatch(r"po_[0-9a-f]{32}", first)
    assert len(first) == 35  # SEPA's limit for an end-to-end id


def test_a_run_executes_on_the_day_it_started_whatever_its_period() -> None:
    started = datetime(2026, 1, 15, 23, 59, tzinfo=UTC)
    run = SettlementRun("sr_1", date(2026, 1, 10), "EUR", "running", 0, 0, started, None)

    assert run.execution_date == date(2026, 1, 15)
    assert not run.has_file
    assert remittance(run.period) == "Kleline payout 2026-01-10"


def test_only_a_complete_run_that_paid_someone_has_a_file() -> None:
    at = datetime(2026, 1, 15, tzinfo=UTC)
    assert SettlementRun("sr_1", date(2026, 1, 15), "EUR", "complete", 2, 3000, at, at).has_file
    assert not SettlementRun("sr_1", date(2026, 1, 15), "EUR", "complete", 0, 0, at, at).has_file
