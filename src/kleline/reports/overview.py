"""A merchant's overview: today's and this month's sales, its balance, the next payout, 30 days and 12 months.

The sales come from the books as the statements read them (``reports.day_totals``), so that a month here is its
statement to the cent: the closed days from ``merchant_day_totals``, the open days (today, and yesterday for a few
minutes after midnight) from the ledger's postings. The first visit after a day closes keeps that day (one row, once
per merchant and day; the first visit ever keeps up to a year's days).

What cannot change is read once and kept by the process (for ``KEPT_FOR``, or until a day closes): the closed days,
which are final, and the open days' **settled** postings, those no posting with a smaller id can still join (every
posting up to the last one dated ``2 x CLOSING_GRACE`` ago has committed). Each visit then reads one statement of
its own, the postings after the settled ones: a few minutes of sales, not a day's, and still every posting
committed before the visit; and none at all when nothing moved since the process read the open days (a shop
without a sale for some minutes): no posting of the balance account after the settled ones, and no new refund paid
out of the commission, as the account's last posting id and the count of those refunds, read with the page's other
figures, tell. Nothing is kept that a new posting could change.

The balance is the ledger's, the pending amount the payments', the payouts settlement's: each service answers for
its own figure.
"""

from __future__ import annotations

import functools
import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from kleline.clock import Clock, epoch_us, from_epoch_us
from kleline.db.engine import Database, Read, one_row_reads
from kleline.ledger import Ledger
from kleline.merchants.model import BALANCE_CURRENCY, balance_account
from kleline.payments.postings import COMMISSION_ACCOUNT, INTRODUCTIONS_ACCOUNT
from kleline.payments.service import Payments
from kleline.reports import day_totals, store
from kleline.reports.day_totals import Books, Stored
from kleline.reports.figures import DayFigure, Frame, MonthFigure, SalesOverview, Totals, day_number, month_key
from kleline.reports.service import CLOSING_GRACE
from kleline.settlement import Settlement

T = TypeVar("T")

__all__ = ["Overview"]

_CACHED_ACCOUNTS = 10_000
KEPT_FOR = 2 * CLOSING_GRACE
"""How long a process uses what it keeps of a merchant's days before it reads them again (the postings after the
settled ones, read at every visit, are then at most this much sales)."""


@dataclass(frozen=True, slots=True)
class _Kept:
    """What a process keeps of a merchant's overview while the open days start at ``open_from``, until ``until``:
    its closed days (final), the open days' sales of the postings up to ``upto``, all committed when summed
    (``day_totals.settle``), and the open days' refunds paid out of the commission while the merchant had
    ``zero_net_count`` of them (they are summed again once it has more)."""

    open_from: int
    closed: Stored
    upto: int
    settled: dict[int, Totals]
    zero_net_count: int
    zero_net: dict[int, Totals]
    until: datetime


@dataclass(frozen=True, slots=True)
class _Bounds:
    """A frame's days as day numbers."""

    window: int
    recent: int
    open_from: int
    today: int

    @classmethod
    def of(cls, frame: Frame) -> _Bounds:
        return cls(day_number(frame.window), day_number(frame.recent), day_number(frame.open), day_number(frame.today))

    @property
    def closed(self) -> dict[str, int]:
        """``day_totals.read``'s bounds."""
        return {"window": self.window, "recent": self.recent, "open_from": self.open_from}


class Overview:
    """Merchants' overviews for the dashboard."""

    def __init__(
        self, db: Database, ledger: Ledger, payments: Payments, settlement: Settlement, *, clock: Clock
    ) -> None:
        self._db = db
        self._ledger = ledger
        self._payments = payments
        self._settlement = settlement
        self._clock = clock
        # An account never changes once opened: each merchant's is looked up once per process.
        self._books: dict[str, Books] = {}
        self._kept: dict[str, _Kept] = {}
        self._lock = threading.Lock()

    def of(self, merchant_id: str) -> SalesOverview:
        """The overview of ``merchant_id`` now (all zeros for a merchant not yet approved: nothing has moved)."""
        return self._of(merchant_id, ())[0]

    def of_beside(self, merchant_id: str, beside: Read[T]) -> tuple[SalesOverview, T]:
        """The overview, and what ``beside`` (a read of one row: ``Read.width``) reads in the same statement as the
        overview's figures: a page showing something else beside them pays no statement of its own for it."""
        overview, [also] = self._of(merchant_id, (beside,))
        return overview, also

    def _of(self, merchant_id: str, beside: tuple[Read[Any], ...]) -> tuple[SalesOverview, list[Any]]:
        frame = Frame.at(self._clock(), CLOSING_GRACE)
        books = self._books_of(merchant_id)
        closed, live, currency = Stored({}, {}, 0), dict[int, Totals](), BALANCE_CURRENCY
        available = 0
        # The overview's figures of one row each (and what the page reads ``beside`` them) are one statement; the
        # open days' sales the process has not summed yet another one, only when there are some.
        pending_read = self._payments.pending_balance_read(merchant_id)
        payouts_read = self._settlement.payout_outlook_read(merchant_id)
        if books is None:  # not approved yet: nothing has moved, and there is no balance account
            with self._db.transaction(write=False) as tx:
                pending, payouts, *also = tx.read(one_row_reads(pending_read, payouts_read, *beside))
        else:
            kept = self._kept_of(books, frame)
            bounds = _Bounds.of(frame)
            balance_read = self._ledger.balance_read(balance_account(merchant_id))
            with self._db.transaction(write=False) as tx:
                pending, payouts, balance, last, zero_net_count, *also = tx.read(
                    one_row_reads(
                        pending_read,
                        payouts_read,
                        balance_read,
                        day_totals.last_posting(books),
                        day_totals.zero_net_count(merchant_id),
                        *beside,
                    )
                )
                recent = kept.zero_net
                if last > kept.upto or zero_net_count != kept.zero_net_count:  # something the process has not read
                    recent = tx.read(
                        day_totals.tail(tx, books, open_from=bounds.open_from, today=bounds.today, after=kept.upto)
                    )
            closed, live, currency = kept.closed, _live(kept, recent), books.account.currency
            available = balance.available
        days, months = _series(frame, closed, live)
        overview = SalesOverview(
            merchant_id=merchant_id,
            currency=currency,
            as_of=frame.now,
            today=days[-1].totals,
            this_month=months[-1].totals,
            available=available,
            pending=pending,
            payouts=payouts.given(available),
            days=days,
            months=months,
        )
        return overview, also

    def _kept_of(self, books: Books, frame: Frame) -> _Kept:
        """What the process keeps of the frame's closed days and of its open days' settled postings (kept now if
        it kept nothing yet for this frame)."""
        bounds = _Bounds.of(frame)
        kept = self._kept.get(books.merchant_id)
        if kept is None or kept.open_from != bounds.open_from or frame.now >= kept.until:
            kept = self._keep(books, frame, bounds)
        return kept

    def _keep(self, books: Books, frame: Frame, bounds: _Bounds) -> _Kept:
        """Keep the closed days not kept yet; read them back, and sum the open days' settled postings."""
        with self._db.transaction(write=False) as tx:
            closed = day_totals.read(tx, books.merchant_id, **bounds.closed)
        missing = _missing(frame, closed, _opened(books))
        if missing:
            with self._db.transaction() as tx:
                day_totals.close_days(tx, books, missing, epoch_us(self._clock()))
            with self._db.transaction(write=False) as tx:
                closed = day_totals.read(tx, books.merchant_id, **bounds.closed)
        before = epoch_us(frame.now - 2 * CLOSING_GRACE)
        with self._db.transaction(write=False) as tx:
            upto, settled = day_totals.settle(
                tx, books, open_from=bounds.open_from, today=bounds.today, after=closed.watermark, before=before
            )
            # Counted before they are summed: one that commits in between is summed again at the next visit.
            zero_net_count = tx.read(day_totals.zero_net_count(books.merchant_id))
            zero_net = day_totals.zero_net(tx, books, open_from=bounds.open_from, today=bounds.today)
        kept = _Kept(bounds.open_from, closed, upto, settled, zero_net_count, zero_net, frame.now + KEPT_FOR)
        with self._lock:
            if len(self._kept) >= _CACHED_ACCOUNTS:
                self._kept.clear()
            self._kept[books.merchant_id] = kept
        return kept

    def _books_of(self, merchant_id: str) -> Books | None:
        """The merchant's balance account and the commission account, or None before its approval."""
        found = self._books.get(merchant_id)
        if found is not None:
            return found
        with self._db.transaction(write=False) as tx:
            account = store.find_account(tx, balance_account(merchant_id))
            commission = store.find_account(tx, COMMISSION_ACCOUNT)
            introductions = store.find_account(tx, INTRODUCTIONS_ACCOUNT)
        if account is None:
            return None
        books = Books(
            merchant_id,
            account,
            -1 if commission is None else commission.id,
            -1 if introductions is None else introductions.id,
        )
        if commission is not None and introductions is not None:  # look again next time until both are open
            with self._lock:
                if len(self._books) >= _CACHED_ACCOUNTS:
                    self._books.clear()
                self._books[merchant_id] = books
        return books


def _opened(books: Books) -> date:
    """The day the merchant's balance account opened: no sale is booked before it."""
    return from_epoch_us(books.account.created_at).date()


def _missing(frame: Frame, stored: Stored, opened: date) -> list[int]:
    """The closed days of the frame not kept yet (all those of a month short of a day), as day numbers."""
    months, recent = _expected(frame.window, frame.recent, frame.open, opened)
    if all(stored.months.get(month, (Totals(), 0))[1] >= len(days) for month, days in months) and all(
        day in stored.recent for day in recent
    ):
        return []
    missing = [day for day in recent if day not in stored.recent]
    for month, days in months:
        if stored.months.get(month, (Totals(), 0))[1] < len(days):
            missing.extend(days)
    return missing


@functools.lru_cache(maxsize=4096)
def _expected(
    window: date, recent: date, open_from: date, opened: date
) -> tuple[tuple[tuple[int, tuple[int, ...]], ...], tuple[int, ...]]:
    """The closed days a frame needs kept, since ``opened``: by month before ``recent``, then one by one (day
    numbers). The same for every visit of a day: worked out once."""
    months: dict[int, list[int]] = defaultdict(list)
    days: list[int] = []
    first = max(window, opened)
    for n in range((open_from - first).days):
        day = first + timedelta(days=n)
        if day < recent:
            months[month_key(day)].append(day_number(day))
        else:
            days.append(day_number(day))
    return tuple((month, tuple(numbers)) for month, numbers in months.items()), tuple(days)


def _live(kept: _Kept, recent: dict[int, Totals]) -> dict[int, Totals]:
    """The open days' sales: the settled ones the process keeps, and the others (by day number)."""
    live = dict(kept.settled)
    for day, totals in recent.items():
        live[day] = live.get(day, Totals()) + totals
    return live


def _series(
    frame: Frame, closed: Stored, live: dict[int, Totals]
) -> tuple[tuple[DayFigure, ...], tuple[MonthFigure, ...]]:
    """The daily and monthly series of the frame from its closed days and its open days' sales."""
    zero = Totals()
    by_month: dict[int, Totals] = {month: totals for month, (totals, _) in closed.months.items()}
    days = []
    for day, (number, month) in zip(frame.days, frame.day_keys, strict=True):
        totals = closed.recent.get(number) or live.get(number) or zero
        days.append(DayFigure(day, totals))
        by_month[month] = by_month.get(month, zero) + totals
    months = tuple(MonthFigure(m, by_month.get(m.year * 100 + m.month, zero)) for m in frame.months)
    return tuple(days), months
