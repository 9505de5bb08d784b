"""Merchant statements and exports of the books: one method per document.

A statement is derived from the books alone, never from a table of its own: the merchant's balance account's
postings in the month, named by the metadata the payments code writes on each entry (``payment``, ``refund``) and
the settlement code on payouts (``payout``), completed by the payments table (the merchant's order reference and
description, the commission rate). The opening and closing balances are the sums of every posting before the
month's first and after its last instant, read in the same snapshot as the movements, and the statement is refused
(``StatementMismatch``) unless its movements lead from one to the other. The same month of the same books always
gives the same document, byte for byte.

The one write is the commission invoice's first issue (``reports.numbering``): it takes the next number of the
year's sequence and keeps the PDF, which later requests return unchanged. Statements name the invoice once issued.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final, Literal, TextIO

from kleline.clock import Clock, epoch_us, from_epoch_us
from kleline.db.engine import Database, RawTx
from kleline.ledger import NormalSide
from kleline.ledger.model import normal_delta
from kleline.merchants.model import BALANCE_CURRENCY, balance_account
from kleline.merchants.service import Merchants
from kleline.payments.postings import COMMISSION_ACCOUNT, INTRODUCTIONS_ACCOUNT
from kleline.reports import fec, invoice, numbering, store, tabular
from kleline.reports.beancount_export import ExportSummary, write_beancount
from kleline.reports.errors import (
    InvalidMonth,
    NothingToInvoice,
    StatementMismatch,
    StatementPeriodOpen,
    UnknownFormat,
)
from kleline.reports.model import (
    Classified,
    Issuer,
    MerchantStatement,
    Month,
    Movement,
    MovementKind,
    StatementParty,
    classify,
)
from kleline.reports.payouts import PayoutContents, parse_cursor, write_cursor
from kleline.reports.store import PaymentInfo
from kleline.reports.views import statement_json_bytes
from kleline.settlement import Payout
from kleline.settlement.postings import sent_entry_id

__all__ = ["FORMATS", "Document", "Reports", "StatementFormat"]

StatementFormat = Literal["json", "csv", "fec", "pdf"]
FORMATS: Final = ("json", "csv", "fec", "pdf")


@dataclass(frozen=True, slots=True)
class Document:
    """A rendered document: its bytes, media type and a file name to offer."""

    content: bytes
    media_type: str
    filename: str


CLOSING_GRACE = timedelta(minutes=5)
"""How long after a month ends its statement becomes final and its invoice can be issued. Each posting is dated
inside its own transaction, so one dated 23:59:59.999 may commit a moment after midnight: an invoice issued at once
would miss it, and an issued invoice never changes. Five minutes outlasts any transaction Kleline runs."""


class Reports:
    """Merchants' monthly statements (JSON, CSV, FEC, commission invoice PDF) and the books in beancount."""

    def __init__(self, db: Database, merchants: Merchants, issuer: Issuer, *, clock: Clock) -> None:
        self._db = db
        self._merchants = merchants
        self._issuer = issuer
        self._clock = clock

    def statement(self, merchant_id: str, month: Month | str) -> MerchantStatement:
        """The merchant's statement for ``month`` (``YYYY-MM``): to date while the month runs, final after."""
        period = self._month(month)
        now = self._clock()
        closed = now >= period.end + CLOSING_GRACE
        if period.start > now:
            raise InvalidMonth(f"{period} has not begun yet")
        merchant = self._merchants.get(merchant_id)
        party = StatementParty(merchant.id, merchant.name, merchant.email, merchant.siret)
        with self._db.transaction(write=False, snapshot=True) as tx:
            found = _read(tx, merchant_id, period)
            issued = numbering.find(tx, merchant_id, period)
        if found is None:  # not approved yet: its balance account has never existed, nothing ever moved
            return MerchantStatement(party, period, BALANCE_CURRENCY, 0, 0, (), closed, issued)
        currency, opening, closing, lines = found
        lines.sort(key=lambda line: (line[0], line[1], line[2].entry_id))
        running, movements = opening, []
        for _, _, movement in lines:
            net = movement.gross + movement.commission + movement.introduction
            running += net
            movements.append(replace(movement, net=net, balance_after=running))
        result = MerchantStatement(party, period, currency, opening, closing, tuple(movements), closed, issued)
        if not result.balanced:
            raise StatementMismatch(
                f"the statement of {merchant_id} for {period} does not balance: opening {opening}, movements "
                f"{running - opening}, closing {closing}"
            )
        return result

    def render(self, statement: MerchantStatement, format: str) -> Document:
        """The statement as a document: ``json``, ``csv``, ``fec`` (Fichier des Écritures Comptables) or ``pdf``
        (the month's commission invoice, once the month is over: issued, and numbered, the first time)."""
        stem = f"kleline-{statement.merchant.id}-{statement.month}"
        if format == "json":
            return Document(statement_json_bytes(statement), "application/json", f"{stem}.json")
        if format == "csv":
            return Document(tabular.statement_csv(statement), "text/csv; charset=utf-8", f"{stem}.csv")
        if format == "fec":
            return Document(fec.statement_fec(statement), fec.MEDIA_TYPE, fec.file_name(statement))
        if format == "pdf":
            return Document(self._invoice_pdf(statement), "application/pdf", f"{stem}.pdf")
        raise UnknownFormat(f"format: one of {', '.join(FORMATS)}, not {format!r}")

    def statement_document(self, merchant_id: str, month: Month | str, format: str) -> Document:
        """The merchant's statement for ``month``, rendered as ``format``."""
        if format not in FORMATS:
            raise UnknownFormat(f"format: one of {', '.join(FORMATS)}, not {format!r}")
        period = self._month(month)
        if format == "pdf" and period.end + CLOSING_GRACE > self._clock():
            self._merchants.get(merchant_id)  # an unknown merchant is still a 404, whatever the month
            raise _period_open(period)
        return self.render(self.statement(merchant_id, period), format)

    def _invoice_pdf(self, statement: MerchantStatement) -> bytes:
        """The month's invoice as issued, issuing it (and taking its number) the first time.

        A month with no commission at all, charged or given back, gets no invoice (``NothingToInvoice``) rather
        than one for zero: no service was billed, so none is owed, and an empty invoice would take a number of
        the legal sequence for nothing, one per month anybody cares to ask about, back to 1970. A month whose
        commission charged and returned cancel out still gets its invoice, which shows both."""
        if not statement.closed:
            raise _period_open(statement.month)
        if statement.invoice is None and not statement.invoiceable:
            raise NothingToInvoice(
                f"no commission to invoice for {statement.month}: {statement.merchant.id} had no payment or refund"
            )

        def render(number: str, issued: datetime) -> bytes:
            return invoice.commission_invoice(statement, self._issuer, number=number, issued=issued)

        _, content = numbering.issue(self._db, statement, self._clock, render)
        return content

    def statement_months(self, merchant_id: str) -> list[tuple[Month, bool]]:
        """Every month the merchant has statements for, newest first: from the month it joined to the current one,
        each with whether it is closed (its statement final, its invoice issuable)."""
        merchant = self._merchants.get(merchant_id)
        now = self._clock()
        month, first, months = Month.of(now), Month.of(merchant.created_at), []
        while month >= first:
            months.append((month, now >= month.end + CLOSING_GRACE))
            month = month.previous()
        return months

    def payout_contents(self, payout: Payout, *, limit: int = 50, cursor: str | None = None) -> PayoutContents:
        """The movements of the merchant's balance that ``payout`` paid out (``reports.payouts``): a page of
        ``limit``, after ``cursor`` (the page before's ``next_cursor``), with the totals of them all."""
        with self._db.transaction(write=False, snapshot=True) as tx:
            account = store.find_account(tx, balance_account(payout.merchant_id))
            window = None
            if account is not None:
                window = store.payout_window(tx, account.id, payout.merchant_id, payout.id, sent_entry_id)
            if account is None or window is None:  # never sent from this balance: nothing it covers
                return PayoutContents((), None, 0, 0, payout.amount.minor, None)
            previous, until = window
            start = parse_cursor(cursor)
            if start is None or (previous is not None and start < previous):
                start = previous
            count, total = store.window_totals(tx, account.id, previous, until)
            commission = store.find_account(tx, COMMISSION_ACCOUNT)
            commission_id = None if commission is None else commission.id
            introductions = store.find_account(tx, INTRODUCTIONS_ACCOUNT)
            introductions_id = None if introductions is None else introductions.id
            rows = store.window_movements(tx, account.id, commission_id, start, until, limit + 1, introductions_id)
            side = NormalSide(account.normal_side)
            classified = [(row, _classified(row, side)) for row in rows[:limit]]
            details = store.payment_details(tx, [c.payment_id for _, c in classified if c.payment_id])
        movements = []
        for row, what in classified:
            info = details.get(what.payment_id) if what.payment_id else None
            movement = _movement(row.entry_id, what.object_id, what.kind, row.posted_at, row.description, info)
            movements.append(
                replace(
                    movement,
                    payment_id=what.payment_id,
                    gross=what.gross,
                    commission=what.commission,
                    introduction=what.introduction,
                    net=what.gross + what.commission + what.introduction,
                )
            )
        last = rows[limit - 1] if len(rows) > limit else None
        net = normal_delta(side, total)
        return PayoutContents(
            movements=tuple(movements),
            next_cursor=None if last is None else write_cursor(last.posted_at, last.posting_id),
            count=count,
            net=net,
            carried=payout.amount.minor - net,
            since=None if previous is None else from_epoch_us(previous[0]),
        )

    def export_beancount(self, out: TextIO) -> ExportSummary:
        """Write Kleline's whole ledger to ``out`` as a beancount file that ``bean-check`` accepts."""
        return write_beancount(self._db, out)

    @staticmethod
    def _month(month: Month | str) -> Month:
        if isinstance(month, Month):
            return month
        try:
            return Month.parse(month)
        except ValueError as error:
            raise InvalidMonth(f"month: {error}") from None


def _classified(row: store.MovementRow, side: NormalSide) -> Classified:
    # The commission and introductions accounts are credit-normal: Kleline earns on a credit, a negative posting.
    move = normal_delta(side, row.amount)
    return classify(row.entry_id, row.metadata, move, -row.commission, row.only_bank, -row.introduction)


def _period_open(period: Month) -> StatementPeriodOpen:
    return StatementPeriodOpen(
        f"the commission invoice for {period} is issued once the month is over "
        f"({CLOSING_GRACE.seconds // 60} minutes after its end, when its last postings have committed)"
    )


_Line = tuple[int, int, Movement]
"""A movement with its sort key: when it was posted, then the posting's number."""


def _read(tx: RawTx, merchant_id: str, period: Month) -> tuple[str, int, int, list[_Line]] | None:
    """The merchant's balance account's currency, opening and closing balances, and the month's movements (their
    running balance not yet set); None when the merchant has no balance account."""
    account = store.find_account(tx, balance_account(merchant_id))
    if account is None:
        return None
    start, end = epoch_us(period.start), epoch_us(period.end)
    commission = store.find_account(tx, COMMISSION_ACCOUNT)
    introductions = store.find_account(tx, INTRODUCTIONS_ACCOUNT)
    side = NormalSide(account.normal_side)
    opening = normal_delta(side, store.balance_before(tx, account.id, start))
    closing = normal_delta(side, store.balance_before(tx, account.id, end))
    rows = store.movements(
        tx,
        account.id,
        None if commission is None else commission.id,
        start,
        end,
        None if introductions is None else introductions.id,
    )
    zero_net = store.zero_net_refunds(tx, merchant_id, start, end)
    classified = [(row, _classified(row, side)) for row in rows]
    payment_ids = [c.payment_id for _, c in classified if c.payment_id] + [r.payment_id for r in zero_net]
    details = store.payment_details(tx, payment_ids)
    lines: list[_Line] = []
    for row, what in classified:
        info = details.get(what.payment_id) if what.payment_id else None
        movement = _movement(row.entry_id, what.object_id, what.kind, row.posted_at, row.description, info)
        with_amounts = replace(
            movement,
            payment_id=what.payment_id,
            gross=what.gross,
            commission=what.commission,
            introduction=what.introduction,
        )
        lines.append((row.posted_at, row.posting_id, with_amounts))
    for refund in zero_net:
        info = details.get(refund.payment_id)
        movement = _movement(refund.id, refund.id, "refund", refund.posted_at, refund.description, info)
        with_amounts = replace(
            movement,
            payment_id=refund.payment_id,
            gross=-refund.amount,
            commission=refund.fee_returned,
            introduction=refund.intro_fee_returned,
        )
        lines.append((refund.posted_at, refund.posting_id, with_amounts))
    return account.currency, opening, closing, lines


def _movement(
    entry_id: str, object_id: str, kind: MovementKind, posted_at: int, entry_description: str, info: PaymentInfo | None
) -> Movement:
    """A movement described by its payment (the merchant's reference and description) or else by its entry; its
    amounts, payment and running balance are set by the caller."""
    return Movement(
        posted_at=from_epoch_us(posted_at),
        kind=kind,
        object_id=object_id,
        entry_id=entry_id,
        payment_id=None,
        reference=info.reference if info else None,
        description=(info.description if info and info.description else entry_description),
        gross=0,
        commission=0,
        net=0,
        balance_after=0,
        fee_bps=info.fee_bps if info else None,
        intro_fee_bps=info.intro_fee_bps if info else 0,
    )
