"""A merchant's overview: today's and this month's sales, its balance, the next payout, 30 days and 12 months.

The sales come from the books as the statements read them (``reports.day_totals``), so that a month here is its
statement to the cent. A visit reads, in one statement, the closed days kept in ``merchant_day_totals`` and the open
days (today, and yesterday for a few minutes after midnight) summed live; the first visit after a day closes keeps
that day first (a write of one row, once per merchant and day; the first visit ever keeps up to a year's days).
The balance is the ledger's, the pending amount the payments', the payouts settlement's: each service answers
for its own figure.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import date

from kleline.clock import Clock, epoch_us, from_epoch_us
from kleline.db.engine import Database
from kleline.ledger import Ledger, UnknownAccount
from kleline.merchants.model import BALANCE_CURRENCY, balance_account
from kleline.payments.postings import COMMISSION_ACCOUNT
from kleline.payments.service import Payments
from kleline.reports import day_totals, store
from kleline.reports.day_totals import Books, Stored
from kleline.reports.figures import DayFigure, Frame, MonthFigure, SalesOverview, Totals, day_number, month_key
from kleline.reports.service import CLOSING_GRACE
from kleline.settlement import Settlement

__all__ = ["Overview"]

_CACHED_ACCOUNTS = 10_000


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
        self._lock = threading.Lock()

    def of(self, merchant_id: str) -> SalesOverview:
        """The overview of ``merchant_id`` now (all zeros for a merchant not yet approved: nothing has moved)."""
        frame = Frame.at(self._clock(), CLOSING_GRACE)
        books = self._books_of(merchant_id)
        if books is None:
            stored, currency = Stored({}, {}, {}), BALANCE_CURRENCY
        else:
            stored, currency = self._sales(books, frame), books.account.currency
        try:
            available = self._ledger.balance(balance_account(merchant_id)).available
        except UnknownAccount:
            available = 0
        days, months = _series(frame, stored)
        return SalesOverview(
            merchant_id=merchant_id,
            currency=currency,
            as_of=frame.now,
            today=days[-1].totals,
            this_month=months[-1].totals,
            available=available,
            pending=self._payments.pending_balance(merchant_id),
            payouts=self._settlement.payout_outlook(merchant_id, available),
            days=days,
            months=months,
        )

    def _sales(self, books: Books, frame: Frame) -> Stored:
        """The frame's stored and live days, after keeping the closed days not kept yet."""
        bounds = {
            "window": day_number(frame.window),
            "recent": day_number(frame.recent),
            "open_from": day_number(frame.open),
            "today": day_number(frame.today),
        }
        with self._db.transaction(write=False) as tx:
            stored = day_totals.read(tx, books, **bounds)
        missing = _missing(frame, stored, _opened(books))
        if not missing:
            return stored
        with self._db.transaction() as tx:
            day_totals.close_days(tx, books, missing, epoch_us(self._clock()))
        with self._db.transaction(write=False) as tx:
            return day_totals.read(tx, books, **bounds)

    def _books_of(self, merchant_id: str) -> Books | None:
        """The merchant's balance account and the commission account, or None before its approval."""
        found = self._books.get(merchant_id)
        if found is not None:
            return found
        with self._db.transaction(write=False) as tx:
            account = store.find_account(tx, balance_account(merchant_id))
            commission = store.find_account(tx, COMMISSION_ACCOUNT)
        if account is None:
            return None
        books = Books(merchant_id, account, -1 if commission is None else commission.id)
        if commission is not None:  # not before the first capture opened it: look again next time
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
    expected: dict[int, list[int]] = defaultdict(list)
    missing: list[int] = []
    for day in frame.closed_days(opened):
        number = day_number(day)
        if day < frame.recent:
            expected[month_key(day)].append(number)
        elif number not in stored.recent:
            missing.append(number)
    for month, numbers in expected.items():
        if stored.months.get(month, (Totals(), 0))[1] != len(numbers):
            missing.extend(numbers)
    return missing


def _series(frame: Frame, stored: Stored) -> tuple[tuple[DayFigure, ...], tuple[MonthFigure, ...]]:
    """The daily and monthly series of the frame from what was read."""
    days = tuple(
        DayFigure(day, stored.recent.get(day_number(day)) or stored.live.get(day_number(day)) or Totals())
        for day in frame.days
    )
    by_month: dict[int, Totals] = {month: totals for month, (totals, _) in stored.months.items()}
    for figure in days:
        key = month_key(figure.day)
        by_month[key] = by_month.get(key, Totals()) + figure.totals
    months = tuple(MonthFigure(month, by_month.get(month.year * 100 + month.month, Totals())) for month in frame.months)
    return days, months
