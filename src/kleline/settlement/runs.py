"""Running one period's settlement: open the run, pay the merchants batch by batch, write the file, complete.

Why a crash at any point pays every merchant exactly once:
- **A payout commits with its ledger entry.** Each batch is one transaction: under the run's row lock, the next
  merchants in id order that the run has not paid, their payouts' entries (``Ledger.post_batch_in``: merchant
  balance Dr / in-transit Cr) and the payout rows commit together or not at all. A rerun finds the payouts already
  made and skips those merchants; ``UNIQUE (run, merchant)`` and the payout's derived id (hence its entry's) make a
  second payout impossible even for two processes settling the same period at once.
- **The file is built from the stored payouts**, in merchant order, under the run's message id and start time, so
  the same payouts always give the same file. It is stored in the transaction that completes the run, after
  checking, under the run's lock, that no payout was added since the file was built.
- **Nothing else is half-done**: a run interrupted before completion stays ``running``; running the same period
  again (``kleline settle``, the API, or the worker's ``settlement.finish_interrupted`` sweep) finishes it.
- **A fault retrying cannot pass stops the run, visibly**: the ledger refusing a payout for another reason than the
  merchant's balance (one of Kleline's own accounts missing) or the schema refusing the file rolls its transaction
  back; the run is then marked ``failed`` with the reason (``SettlementRunFailed``), and the sweep leaves it alone.
  Running the period again once the fault is fixed clears the mark and goes on from the payouts already committed.

Batches, not one transaction per merchant: a run over ten thousand merchants costs a few dozen transactions, each a
few pipelined statements, instead of ten thousand round-trip-bound ones. A merchant whose balance fell between the
read and the batch (a refund meanwhile) is refused by the ledger's floor and simply not paid in this run.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from kleline.clock import Clock, epoch_us
from kleline.db.engine import INTEGRITY_ERRORS, Database, RawTx
from kleline.ids import new_id
from kleline.ledger import InsufficientFunds, Ledger, LedgerError
from kleline.merchants.model import balance_account
from kleline.money import Money
from kleline.sepa import CreditTransfer, sepa_reference, write_credit_transfers
from kleline.sepa.errors import SepaError
from kleline.sepa.model import OwnAccount
from kleline.settlement import store
from kleline.settlement.errors import SettlementRunFailed, SettlementRunIncomplete, UnknownSettlementRun
from kleline.settlement.model import Creditor, Payout, SettlementRun, payout_id, remittance
from kleline.settlement.postings import sent_entry
from kleline.staff import audit
from kleline.staff.actor import StaffActor

__all__ = ["CREDITOR_NAME_LENGTH", "Runs", "Step"]

Step = Callable[[str], None]
"""Called at each step of a run (``payouts``, ``paid``, ``file``, ``complete``): a seam for the crash tests."""

CREDITOR_NAME_LENGTH = 70
"""The EPC rulebook's limit for a creditor's name (the XSD allows 140; banks truncate at 70)."""

_ATTEMPTS = 5


def _nothing(_step: str) -> None:
    return None


class Runs:
    """Open, pay and complete settlement runs."""

    def __init__(
        self,
        db: Database,
        ledger: Ledger,
        bank: OwnAccount,
        *,
        clock: Clock,
        minimum: int,
        currency: str,
        batch_size: int,
        on_step: Step | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._db = db
        self._ledger = ledger
        self._bank = bank
        self._clock = clock
        self._minimum = minimum
        self._currency = currency
        self._batch_size = batch_size
        self._step = on_step or _nothing

    def open(self, period: date, actor: StaffActor, *, may_start: bool = True) -> SettlementRun | None:
        """The period's run: started now (unless ``may_start`` is false), or the one started before (complete, or
        to finish); None when there is none. ``actor`` starting it, or taking up a run to finish, is recorded in
        the staff audit trail in this transaction; a complete run is only read."""
        now = self._clock()
        fresh = SettlementRun(new_id("sr"), period, self._currency, "running", 0, 0, now, None)
        with self._db.transaction() as tx:
            if may_start:
                store.insert_run(tx, fresh)
            run = store.find_run_for_period(tx, period, self._currency)
            if run is not None and run.status != "complete":
                action = "settlement_run_started" if run.id == fresh.id else "settlement_run_resumed"
                after = {"period": period.isoformat(), "currency": run.currency, "status": run.status}
                audit.record(tx, actor, action, "settlement_run", run.id, at=now, after=after)
        return run

    def finish(self, run: SettlementRun) -> SettlementRun:
        """Pay every merchant the run has not paid yet, then write the file and complete the run; a run that failed
        before is resumed. A fault retrying cannot pass marks the run ``failed`` (``SettlementRunFailed``)."""
        if run.status == "failed":
            with self._db.transaction() as tx:
                store.clear_failure(tx, run.id)
        try:
            after: str | None = ""
            while after is not None:
                after = self._pay_batch(run, after)
            return self._complete(run)
        except (LedgerError, SepaError) as error:
            reason = error.detail
            with self._db.transaction() as tx:
                store.fail_run(tx, run.id, reason, epoch_us(self._clock()))
            raise SettlementRunFailed(
                f"settlement run {run.id} stopped and is failed: {reason}. This is a fault of Kleline's set-up, not of "
                "the request: fix it, then settle the period again (merchants already paid are not paid twice)",
                run_id=run.id,
            ) from error

    def _pay_batch(self, run: SettlementRun, after: str) -> str | None:
        """Pay the merchants of the next batch after ``after`` that the run has not paid yet; the last merchant
        looked at, or None when there are no more."""
        for attempt in range(_ATTEMPTS):
            try:
                with self._db.transaction() as tx:
                    current = store.find_run(tx, run.id, lock=True)
                    if current is None or current.status == "complete":
                        return None
                    merchants = store.active_merchants(tx, after=after, limit=self._batch_size)
                    if not merchants:
                        return None
                    paid = store.paid_merchants(tx, run.id, [merchant_id for merchant_id, _ in merchants])
                    payouts = self._payouts(run, [m for m in merchants if m[0] not in paid])
                    if payouts:
                        store.insert_payouts(tx, self._send(tx, payouts))
                    store.touch_run(tx, run.id, epoch_us(self._clock()))
                    self._step("payouts")
                self._step("paid")
                return merchants[-1][0]
            except INTEGRITY_ERRORS:
                # Another process paid some of these merchants, or spent a balance, between our reads and our
                # writes; the database refused the whole batch, so nothing is half-done. Read again and retry.
                if attempt == _ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _send(self, tx: RawTx, payouts: list[Payout]) -> list[Payout]:
        """Post the payouts' entries in ``tx``; those the ledger took (a balance that fell meanwhile is refused by
        its floor, and that merchant waits for the next run)."""
        results = self._ledger.post_batch_in(tx, [sent_entry(p, self._bank) for p in payouts])
        sent = []
        for payout, result in zip(payouts, results, strict=True):
            if result.ok:
                sent.append(payout)
            elif not isinstance(result.error, InsufficientFunds):
                raise result.error or AssertionError("a refused entry without its reason")
        return sent

    def _payouts(self, run: SettlementRun, merchants: list[tuple[str, Creditor]]) -> list[Payout]:
        """A payout of its whole available balance for each merchant whose balance reaches the minimum."""
        balances = self._ledger.balances([balance_account(merchant_id) for merchant_id, _ in merchants])
        now = self._clock()
        payouts = []
        for merchant_id, creditor in merchants:
            balance = balances[balance_account(merchant_id)]
            if balance.currency != self._currency or balance.available < self._minimum:
                continue
            name = creditor.name[:CREDITOR_NAME_LENGTH].strip()
            payouts.append(
                Payout(
                    id=payout_id(run.id, merchant_id),
                    merchant_id=merchant_id,
                    settlement_run_id=run.id,
                    amount=Money(balance.available, self._currency),
                    status="in_transit",
                    creditor=Creditor(name, creditor.iban, creditor.bic),
                    created_at=now,
                )
            )
        return payouts

    def _complete(self, run: SettlementRun) -> SettlementRun:
        """Build the file from the stored payouts and store it with the run's completion."""
        self._step("file")
        for _ in range(_ATTEMPTS):
            with self._db.transaction(write=False) as tx:
                payouts = store.run_transfers(tx, run.id)
            file = self._file(run, payouts) if payouts else None
            with self._db.transaction() as tx:
                current = store.find_run(tx, run.id, lock=True)
                if current is None:
                    raise UnknownSettlementRun(f"no settlement run {run.id}", param="id")
                if current.status == "complete":
                    return current
                count, total = store.run_totals(tx, run.id)
                if count != len(payouts):
                    continue  # another process paid a merchant since we read: build the file again
                store.complete_run(tx, run.id, count, total, file, epoch_us(self._clock()))
                self._step("complete")
                done = store.find_run(tx, run.id)
            assert done is not None
            return done
        raise SettlementRunIncomplete(f"settlement run {run.id} kept changing while its file was written: run again")

    def _file(self, run: SettlementRun, payouts: list[tuple[str, Money, Creditor]]) -> bytes:
        """The run's pain.001: one credit transfer per payout (its id the end-to-end id), from Kleline's account."""
        remark = remittance(run.period)
        transfers = [
            CreditTransfer(sepa_reference(reference), amount, creditor.name, creditor.iban, creditor.bic, remark)
            for reference, amount, creditor in payouts
        ]
        return write_credit_transfers(
            self._bank,
            transfers,
            message_id=sepa_reference(run.id),
            created_at=run.created_at,
            execution_date=run.execution_date,
        )
