"""Invoice dates never run backwards along the sequence, even when the servers issuing them disagree on the time
(the concurrent-issue test runs on one frozen clock, so its dates are all equal and cannot show an inversion)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kleline.bootstrap import Kleline
from kleline.reports import Invoice, numbering

from ...conftest import FakeClock
from ..payments.conftest import merchant, shopper
from .conftest import pay


def test_a_server_whose_clock_is_behind_dates_its_invoice_no_earlier_than_the_last(
    kleline: Kleline, clock: FakeClock
) -> None:
    ada = shopper(kleline, purse=100_000)
    first, second = merchant(kleline, name="Ahead"), merchant(kleline, name="Behind")
    pay(kleline, first, ada.id, 1250)
    pay(kleline, second, ada.id, 2500)
    clock.now = datetime(2026, 2, 3, 10, 0, tzinfo=UTC)
    ahead, behind = FakeClock(), FakeClock()
    ahead.now, behind.now = clock.now + timedelta(minutes=5), clock.now

    def issued_by(server: FakeClock, shop: str) -> Invoice:
        statement = kleline.reports.statement(shop, "2026-01")
        invoice, _ = numbering.issue(kleline.db, statement, server, lambda number, at: f"{number} {at}".encode())
        return invoice

    one = issued_by(ahead, first)
    two = issued_by(behind, second)
    assert (one.number, two.number) == ("KL-2026-000001", "KL-2026-000002")
    assert two.issued_at == one.issued_at == ahead.now  # not the late server's 10:00, five minutes "before" no. 1
