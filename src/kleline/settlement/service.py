"""Settlement's use cases: run a period's settlement, read runs, files and payouts, and settle payouts from the
bank statement (what reconciliation calls).

How a run stays exact under crashes is ``settlement.runs``' story. Statement lines settle a payout inside the
reconciliation's transaction (the ``*_in`` methods), under the payout's row lock, with their ledger entry and the
event that tells the merchant, so that a line is reconciled with all its effects or not at all:

- ``confirm_paid_in``: the debit line of the transfer; bank in-transit Dr / safeguarding Cr, ``payout.paid``;
- ``confirm_returned_in``: the merchant's bank sent it back (a credit line with a return reason); safeguarding Dr /
  merchant balance Cr, ``payout.failed``: the merchant is owed the money again and the next run pays it.

Both are idempotent on the statement line: the same line again returns the first entry and changes nothing; another
line for a payout already settled that way is a ``PayoutStateConflict`` (reconciliation puts it in suspense).
"""

from __future__ import annotations

import builtins
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from kleline.clock import Clock, epoch_us
from kleline.db.engine import Database, RawTx, Read, one_row_reads
from kleline.errors import ValidationError
from kleline.events import outbox
from kleline.ledger import Entry, Ledger, UnknownAccount
from kleline.merchants.model import balance_account
from kleline.sepa.model import OwnAccount, object_id
from kleline.settlement import store
from kleline.settlement.errors import (
    NoSettlementFile,
    PayoutStateConflict,
    SettlementPeriodClosed,
    SettlementRunIncomplete,
    UnknownPayout,
    UnknownSettlementRun,
)
from kleline.settlement.model import PAYOUT_STATUSES, Payout, PayoutFacts, PayoutOutlook, SettlementRun
from kleline.settlement.postings import paid_entry, returned_entry
from kleline.settlement.runs import Runs, Step
from kleline.settlement.views import payout_json
from kleline.staff.actor import StaffActor
from kleline.staff.roles import Power

__all__ = ["Settlement"]


class Settlement:
    """Settlement runs and their payouts, from the pain.001 file to the statement lines that settle them."""

    def __init__(
        self,
        db: Database,
        ledger: Ledger,
        bank: OwnAccount,
        *,
        clock: Clock,
        minimum: int,
        currency: str = "EUR",
        batch_size: int = 500,
        on_step: Step | None = None,
    ) -> None:
        self._db = db
        self._ledger = ledger
        self._bank = bank
        self._clock = clock
        self._runs = Runs(
            db,
            ledger,
            bank,
            clock=clock,
            minimum=minimum,
            currency=currency,
            batch_size=batch_size,
            on_step=on_step,
        )
        self.currency = currency
        self.minimum = minimum

    # --- runs -----------------------------------------------------------------------------------------------------

    def run(self, period: date | None = None, *, actor: StaffActor) -> SettlementRun:
        """Settle ``period`` (today, UTC, by default): pay every active merchant whose available balance reaches
        the minimum, in one pain.001 file. The same period again returns the same run, finishing it first if a
        crash interrupted it.

        A run pays the balances of the moment it runs, so a past period only names the run started that day: it
        returns (or finishes) that run, and a past period nobody settled is ``SettlementPeriodClosed`` rather than
        today's money paid under another day's name. A future period is a ``ValidationError``. ``actor``'s role
        must run money; starting (or taking up) a run is recorded in the staff audit trail."""
        actor.require(Power.RUN_MONEY)
        today = self._clock().date()
        period = today if period is None else period
        if period > today:
            raise ValidationError(f"period {period.isoformat()} is in the future (today is {today})", param="period")
        # A run is never deleted, so a run found for a past day is still there when finished: no race with a writer.
        run = self._runs.open(period, actor, may_start=period == today)
        if run is None:
            raise SettlementPeriodClosed(
                f"period {period.isoformat()} was never settled and is over: a run pays the balances of the day"
                f" it starts, so settle today's period ({today.isoformat()}) instead",
                param="period",
            )
        return run if run.status == "complete" else self._runs.finish(run)

    def find_run(self, period: date) -> SettlementRun | None:
        """The run of ``period``, if one was started."""
        with self._db.transaction(write=False) as tx:
            return store.find_run_for_period(tx, period, self.currency)

    def get_run(self, run_id: str) -> SettlementRun:
        """A run; while it is running, with the payouts made so far."""
        with self._db.transaction(write=False) as tx:
            run = store.find_run(tx, run_id)
            if run is None:
                raise UnknownSettlementRun(f"no settlement run {run_id}", param="id")
            if run.status != "complete":
                count, total = store.run_totals(tx, run_id)
                run = replace(run, payout_count=count, total=total)
        return run

    def list_runs(self, *, limit: int = 20, after: str | None = None) -> tuple[builtins.list[SettlementRun], bool]:
        """A page of runs, newest first, and whether more follow."""
        with self._db.transaction(write=False) as tx:
            if after is not None and store.find_run(tx, after) is None:
                raise UnknownSettlementRun(f"no settlement run {after}", param="starting_after")
            found = store.list_runs(tx, limit=limit + 1, after=after)
        return found[:limit], len(found) > limit

    def run_payouts(self, run_id: str) -> builtins.list[Payout]:
        """Every payout of a run, in the order of its file."""
        self.get_run(run_id)
        with self._db.transaction(write=False) as tx:
            return store.run_payouts(tx, run_id)

    def run_file(self, run_id: str) -> bytes:
        """The pain.001 file of a complete run that paid someone."""
        run = self.get_run(run_id)
        if run.status != "complete":
            raise SettlementRunIncomplete(f"settlement run {run_id} is still running: its file is not written yet")
        if not run.has_file:
            raise NoSettlementFile(f"settlement run {run_id} paid nobody: it has no file", param="id")
        with self._db.transaction(write=False) as tx:
            file = store.run_file(tx, run_id)
        assert file is not None  # a CHECK ties the file to the payouts of a complete run
        return file

    def finish_interrupted(self, stalled_after: timedelta) -> builtins.list[str]:
        """Finish the runs a crash left running (untouched for ``stalled_after``); their ids."""
        before = epoch_us(self._clock() - stalled_after)
        with self._db.transaction(write=False) as tx:
            stalled = store.stalled_runs(tx, before, 100)
        for run_id in stalled:
            self._runs.finish(self.get_run(run_id))
        return stalled

    # --- payouts --------------------------------------------------------------------------------------------------

    def get_payout(self, payout_id: str) -> Payout:
        """A payout, whoever asks (callers check who may see it)."""
        with self._db.transaction(write=False) as tx:
            payout = store.find_payout(tx, payout_id)
        if payout is None:
            raise UnknownPayout(f"no payout {payout_id}", param="id")
        return payout

    def list_payouts(
        self,
        *,
        merchant_id: str | None = None,
        run_id: str | None = None,
        status: str | None = None,
        limit: int = 20,
        after: str | None = None,
    ) -> tuple[builtins.list[Payout], bool]:
        """A page of payouts, newest first, filtered by merchant, run or status, and whether more follow."""
        if status is not None and status not in PAYOUT_STATUSES:
            raise ValidationError(f"status must be one of {', '.join(PAYOUT_STATUSES)}", param="status")
        with self._db.transaction(write=False) as tx:
            found = store.list_payouts(
                tx, merchant_id=merchant_id, run_id=run_id, status=status, limit=limit + 1, after=after
            )
        return found[:limit], len(found) > limit

    def payout_outlook(self, merchant_id: str, available: int) -> PayoutOutlook:
        """What ``merchant_id`` can expect from settlement, its balance now being ``available``: the next run's
        payout (none under the minimum) and its last payout still in transit."""
        with self._db.transaction(write=False) as tx:
            return tx.read(self.payout_outlook_read(merchant_id)).given(available)

    def next_payout(self, merchant_id: str) -> PayoutOutlook:
        """What ``merchant_id`` can expect from settlement now, its balance read in the same statement (none yet
        before its approval opens the account: nothing is due)."""
        facts_read = self.payout_outlook_read(merchant_id)
        try:
            balance_read = self._ledger.balance_read(balance_account(merchant_id))
        except UnknownAccount:
            with self._db.transaction(write=False) as tx:
                return tx.read(facts_read).given(0)
        with self._db.transaction(write=False) as tx:
            facts, balance = tx.read(one_row_reads(facts_read, balance_read))
        outlook: PayoutOutlook = facts.given(balance.available)
        return outlook

    def payout_outlook_read(self, merchant_id: str) -> Read[PayoutFacts]:
        """What ``payout_outlook`` reads, as a read that may travel with others (``RawTx.read_all``), the balance
        being read beside it."""
        today = self._clock().date()
        query = store.outlook(merchant_id, today, self.currency)

        def facts(rows: list[Any]) -> PayoutFacts:
            run, sent = query.decode(rows)
            return PayoutFacts(self.currency, self.minimum, today, run, sent)

        return Read(query.sql, query.params, facts, query.width)

    # --- statement lines (reconciliation) ---------------------------------------------------------------------

    def payout_by_end_to_end(self, tx: RawTx, end_to_end_id: str) -> Payout | None:
        """The payout a statement line's end-to-end id names, locked for the rest of ``tx``; None if none."""
        payout_id = object_id(end_to_end_id, "po")
        if payout_id is None:
            return None
        return store.find_payout(tx, payout_id, lock=True)

    def confirm_paid_in(self, tx: RawTx, payout: Payout, *, line_ref: str, booked_on: date) -> Entry:
        """The statement shows the transfer leaving Kleline's account: post in-transit Dr / safeguarding Cr, mark
        the payout ``paid`` and tell the merchant (``payout.paid``), all in ``tx``."""
        current = self._locked(tx, payout.id)
        if current.status != "in_transit":
            if current.paid_line_ref == line_ref:
                return self._ledger.entry(paid_entry(current, self._bank, line_ref).id)
            raise PayoutStateConflict(
                f"payout {current.id} was already paid by statement line {current.paid_line_ref}", param="line_ref"
            )
        entry = self._ledger.post_in(tx, paid_entry(current, self._bank, line_ref))
        paid = replace(current, status="paid", paid_at=self._clock(), booked_on=booked_on, paid_line_ref=line_ref)
        self._record(tx, paid, "payout.paid")
        return entry

    def confirm_returned_in(self, tx: RawTx, payout: Payout, *, line_ref: str, reason: str) -> Entry:
        """The merchant's bank returned the transfer (``reason``: its ISO code, AC04, ...): post safeguarding Dr /
        merchant balance Cr, mark the payout ``failed`` and tell the merchant (``payout.failed``), all in ``tx``.

        Only a paid payout can come back: a return before the debit it returns is a ``PayoutStateConflict``."""
        current = self._locked(tx, payout.id)
        if current.status == "failed" and current.return_line_ref == line_ref:
            return self._ledger.entry(returned_entry(current, self._bank, line_ref, reason).id)
        if current.status != "paid":
            why = "was never debited" if current.status == "in_transit" else "was already returned"
            raise PayoutStateConflict(f"payout {current.id} {why}: it cannot be returned now", param="line_ref")
        entry = self._ledger.post_in(tx, returned_entry(current, self._bank, line_ref, reason))
        failed = replace(
            current, status="failed", failed_at=self._clock(), failure_reason=reason, return_line_ref=line_ref
        )
        self._record(tx, failed, "payout.failed")
        return entry

    def _locked(self, tx: RawTx, payout_id: str) -> Payout:
        payout = store.find_payout(tx, payout_id, lock=True)
        if payout is None:
            raise UnknownPayout(f"no payout {payout_id}", param="payout_id")
        return payout

    def _record(self, tx: RawTx, payout: Payout, event: str) -> None:
        store.save_payout(tx, payout)
        outbox.record(
            tx,
            type=event,
            merchant_id=payout.merchant_id,
            object_id=payout.id,
            data=payout_json(payout),
            created_at=self._clock(),
        )
