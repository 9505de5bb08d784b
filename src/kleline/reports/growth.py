"""Kleline's growth month by month (``reports.growth_figures``), for its staff: from the journal and the customers'
and merchants' tables, without reading them through.

A day of Paris is **closed** once it ended more than the statements' grace (``reports.service.CLOSING_GRACE``):
its figures are final and kept in ``growth_days`` and ``growth_day_sales`` (``reports.growth_store``), by the first
report read after it closed (the first report ever keeps every day since Kleline's first posting, customer or
merchant, once). The days after it are **open**, read live.

What cannot change is read once and kept by the process, as the merchants' overview does (``reports.overview``):
the closed days summed by month, and the open days' **settled** sales, those of the postings no posting with a
smaller id can still join (every posting up to the last one dated ``2 x CLOSING_GRACE`` ago has committed); both
are read again after ``KEPT_FOR``, or when a day closes. Each report then reads one statement of its own: the
postings after the settled ones (a few minutes of sales), the open days' new customers and merchants, and the
merchants suspended now. Nothing is kept that a new posting, customer or approval could change.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from kleline.clock import Clock, epoch_us, from_epoch_us
from kleline.db.engine import Database, RawTx
from kleline.payments.postings import COMMISSION_ACCOUNT
from kleline.reports import growth_store, store
from kleline.reports.errors import InvalidMonth
from kleline.reports.figures import day_number, from_day_number
from kleline.reports.growth_figures import (
    MAX_MONTHS,
    CurrencyMonth,
    GrowthMonth,
    GrowthReport,
    Sales,
    day_of_hour,
    day_start,
    growth_rate,
    month_bounds,
    month_of_day,
    paris_day,
    paris_month,
)
from kleline.reports.growth_store import Counts, HourSales
from kleline.reports.model import Month
from kleline.reports.service import CLOSING_GRACE
from kleline.wallet.customers import PURSE_CURRENCY

__all__ = ["KEPT_FOR", "Growth"]

_FIRST = Month(1970, 1)
KEPT_FOR = 2 * CLOSING_GRACE
"""How long a process uses what it keeps before it reads it again (the postings after the settled ones, read by
every report, are then at most this much sales)."""


@dataclass(frozen=True, slots=True)
class _Kept:
    """What a process keeps while the open days start at ``open_from`` (a day number), until ``until``: the closed
    days summed by month (new customers and merchants; sales by currency), and the open days' sales of the postings
    up to ``upto`` (by day number and currency)."""

    open_from: int
    counts: dict[int, tuple[int, int]]
    sales: dict[tuple[int, str], Sales]
    upto: int
    settled: dict[tuple[int, str], Sales]
    until: datetime


class Growth:
    """Kleline's growth report."""

    def __init__(self, db: Database, *, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._kept: _Kept | None = None
        self._commission: int | None = None  # the commission account's id, once it exists
        self._lock = threading.Lock()

    def report(self, first: Month | str | None = None, last: Month | str | None = None) -> GrowthReport:
        """The months from ``first`` to ``last`` (``YYYY-MM``, months of Paris; by default the twelve to this one):
        ``InvalidMonth`` for a month not written so, one that has not begun, or a range backwards or over
        ``MAX_MONTHS``."""
        now = self._clock()
        this_month = paris_month(now)
        to = _month(last, "to") if last is not None else this_month
        since = _month(first, "from") if first is not None else _back(to, 11)
        if to > this_month:
            raise InvalidMonth(f"to: {to} has not begun yet", param="to")
        if since > to:
            raise InvalidMonth(f"from: {since} comes after to ({to})", param="from")
        if _span(since, to) > MAX_MONTHS:
            raise InvalidMonth(f"from: at most {MAX_MONTHS} months in one report", param="from")
        open_from = day_number(paris_day(now - CLOSING_GRACE))
        kept = self._kept
        if kept is None or kept.open_from != open_from or now >= kept.until:
            kept = self._keep(now, open_from)
        with self._db.transaction(write=False) as tx:
            live = growth_store.live(
                tx,
                commission=self._commission_id(),
                after=kept.upto,
                start=epoch_us(day_start(from_day_number(open_from))),
            )
        counts = {month: list(pair) for month, pair in kept.counts.items()}
        for index, by_hour in enumerate((live.counts.customers, live.counts.merchants)):
            for hour, count in by_hour.items():
                counts.setdefault(month_of_day(day_of_hour(hour)), [0, 0])[index] += count
        sales = dict(kept.sales)
        for (day, currency), figures in _by_day(live.sales, kept.settled).items():
            key = (month_of_day(day), currency)
            sales[key] = sales.get(key, Sales()) + figures
        return _assemble(now, since, to, counts, sales, [from_epoch_us(at) for at in live.suspended])

    def _keep(self, now: datetime, open_from: int) -> _Kept:
        """Keep the closed days not kept yet; read them back by month, and sum the open days' settled postings."""
        commission = self._commission_id()
        with self._db.transaction(write=False) as tx:
            began = growth_store.first_moment(tx)
            first = open_from if began is None else min(open_from, day_number(paris_day(from_epoch_us(began))))
            missing = sorted(set(range(first, open_from)) - growth_store.kept_days(tx, first, open_from))
        for run in _runs(missing):
            with self._db.transaction() as tx:
                _close(tx, run, commission, epoch_us(now))
        start = epoch_us(day_start(from_day_number(open_from)))
        with self._db.transaction(write=False, snapshot=True) as tx:
            counts, sales = growth_store.closed_months(tx, open_from)
            after = growth_store.watermark(tx, open_from)
            upto = growth_store.settled_upto(tx, after, epoch_us(now - 2 * CLOSING_GRACE))
            settled: list[HourSales] = []
            if upto > after:
                end = epoch_us(now) + 1
                settled = growth_store.sales_by_hour(
                    tx, commission=commission, after=after, start=start, end=end, upto=upto
                )
        kept = _Kept(open_from, counts, sales, upto, _by_day(settled), now + KEPT_FOR)
        with self._lock:
            self._kept = kept
        return kept

    def _commission_id(self) -> int:
        """The commission account's id (-1 before the first capture opened it: look again next time)."""
        if self._commission is None:
            with self._db.transaction(write=False) as tx:
                account = store.find_account(tx, COMMISSION_ACCOUNT)
            if account is None:
                return -1
            self._commission = account.id
        return self._commission


def _close(tx: RawTx, days: list[int], commission: int, computed_at: int) -> None:
    """Sum the closed ``days`` (consecutive day numbers) from the journal and the tables, and keep them."""
    start, end = epoch_us(day_start(from_day_number(days[0]))), epoch_us(day_start(from_day_number(days[-1] + 1)))
    found = growth_store.sales_by_hour(
        tx, commission=commission, after=growth_store.watermark(tx, days[0]), start=start, end=end
    )
    counts: Counts = growth_store.counts_by_hour(tx, start, end)
    new: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for index, by_hour in enumerate((counts.customers, counts.merchants)):
        for hour, count in by_hour.items():
            new[day_of_hour(hour)][index] += count
    last: dict[int, int] = {}
    for line in found:
        day = day_of_hour(line.hour)
        last[day] = max(last.get(day, 0), line.last_posting)
    rows = [
        {
            "day": day,
            "month": month_of_day(day),
            "customers": new.get(day, [0, 0])[0],
            "merchants": new.get(day, [0, 0])[1],
            "last_posting": last.get(day),
            "at": computed_at,
        }
        for day in days
    ]
    sales = [
        {
            "day": day,
            "currency": currency,
            "month": month_of_day(day),
            "payments": figures.payments,
            "gross": figures.gross,
            "refund_count": figures.refund_count,
            "refunds": figures.refunds,
            "charged": figures.commission_charged,
            "returned": figures.commission_returned,
        }
        for (day, currency), figures in sorted(_by_day(found).items())
        if figures != Sales()
    ]
    growth_store.keep(tx, rows, sales)


def _by_day(
    lines: Iterable[HourSales], base: dict[tuple[int, str], Sales] | None = None
) -> dict[tuple[int, str], Sales]:
    """Hours' sales summed by day of Paris and currency (onto ``base``, left unchanged)."""
    found = dict(base or {})
    for line in lines:
        key = (day_of_hour(line.hour), line.currency)
        found[key] = found.get(key, Sales()) + line.sales
    return found


def _assemble(
    now: datetime,
    since: Month,
    to: Month,
    counts: dict[int, list[int]],
    sales: dict[tuple[int, str], Sales],
    suspensions: list[datetime],
) -> GrowthReport:
    """The report of ``since`` to ``to`` from every month's new customers and merchants and sales."""
    currencies = tuple(sorted({currency for (month, currency) in sales if _key(since) <= month <= _key(to)}))
    currencies = currencies or (PURSE_CURRENCY,)
    customers = merchants = 0
    for key, (new_customers, new_merchants) in counts.items():
        if key < _key(since.previous() if since > _FIRST else since):
            customers, merchants = customers + new_customers, merchants + new_merchants
    previous: GrowthMonth | None = None
    before: dict[str, Sales] = {}
    months: list[GrowthMonth] = []
    month = since.previous() if since > _FIRST else since  # the month before gives the first one's growth
    while month <= to:
        key = _key(month)
        new_customers, new_merchants = counts.get(key, [0, 0])
        customers, merchants = customers + new_customers, merchants + new_merchants
        end = month_bounds(month)[1]
        active = merchants - sum(1 for at in suspensions if at < end)
        lines = []
        for currency in currencies:
            figures = sales.get((key, currency), Sales())
            last = before.get(currency)
            lines.append(
                CurrencyMonth(
                    currency,
                    figures,
                    None if last is None else growth_rate(figures.gross, last.gross),
                    None if last is None else growth_rate(figures.commission, last.commission),
                )
            )
        payments = sum(line.sales.payments for line in lines)
        current = GrowthMonth(
            month=month,
            complete=now >= end + CLOSING_GRACE,
            new_merchants=new_merchants,
            active_merchants=active,
            merchants_growth=growth_rate(active, previous.active_merchants) if previous else None,
            new_customers=new_customers,
            customers=customers,
            customers_growth=growth_rate(customers, previous.customers) if previous else None,
            payments=payments,
            payments_growth=growth_rate(payments, previous.payments) if previous else None,
            refunds=sum(line.sales.refund_count for line in lines),
            currencies=tuple(lines),
        )
        if month >= since:
            months.append(current)
        previous, month = current, month.next()
        before = {line.currency: line.sales for line in lines}
    return GrowthReport(since, to, now, currencies, tuple(months))


def _runs(days: list[int]) -> list[list[int]]:
    """Sorted day numbers in runs of consecutive days."""
    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return runs


def _key(month: Month) -> int:
    return month.year * 100 + month.month


def _month(text: Month | str, param: str) -> Month:
    if isinstance(text, Month):
        return text
    try:
        return Month.parse(text)
    except ValueError as error:
        raise InvalidMonth(f"{param}: {error}", param=param) from None


def _back(month: Month, count: int) -> Month:
    for _ in range(count):
        month = month.previous()
    return month


def _span(first: Month, last: Month) -> int:
    return (last.year - first.year) * 12 + last.month - first.month + 1
