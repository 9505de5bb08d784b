"""Collection runs: every collection not yet sent, in one pain.008 file, each collection in exactly one file.

A run has two steps, each one transaction:

1. *start*: open the run and move every ``pending`` collection into it (``submitted``, with its sequence type:
   ``FRST`` for the first collection ever made under a mandate, ``RCUR`` after). A collection leaves ``pending``
   only here, inside the run that takes it, so no collection can be in two runs. At most one run is open at a
   time (a unique guard in the table), so two runs started together cannot split or share collections.
2. *finish*: write the file from what the run stored (its id as message id, its creation time and collection date,
   its collections by id, so the same run always yields the same content) and store it with the run, now
   ``complete``.

A crash between the two leaves the run open with its collections; the next ``run`` finishes that run and returns
it, before anything new is taken, so the operator gets the file that was never handed over. Reading a run or its
file never finishes it. A run that finds
nothing to collect is completed at once, with no file.

Starting a run, or finishing one a crash left open, is an operator's act: it takes the ``StaffActor``, whose role must
run money, and records it in the staff audit trail in the transaction that takes the collections (or completes the
run), once per act.
"""

from __future__ import annotations

import builtins

from kleline.clock import Clock, epoch_us, from_epoch_us
from kleline.collections import run_store
from kleline.collections.errors import CollectionRunOpen, NoCollectionFile, UnknownCollectionRun
from kleline.collections.model import REMITTANCE, CollectionRun, RunStatus, collection_date_after
from kleline.db.engine import INTEGRITY_ERRORS, Database, RawTx
from kleline.ids import new_id
from kleline.sepa import DirectDebit, OwnAccount, sepa_reference, write_direct_debits
from kleline.staff import audit
from kleline.staff.actor import StaffActor
from kleline.staff.roles import Power
from kleline.wallet.customers import PURSE_CURRENCY

__all__ = ["CollectionRuns"]

_START_ATTEMPTS = 3


class CollectionRuns:
    """Start and finish collection runs; read them and their files."""

    def __init__(self, db: Database, own_account: OwnAccount, *, clock: Clock) -> None:
        self._db = db
        self._own = own_account
        self._clock = clock

    def run(self, *, actor: StaffActor) -> CollectionRun:
        """Finish the run a crash interrupted, if any; otherwise start a run with every pending collection and
        finish it. Either way the run returned is complete, with its file if it collects anything."""
        actor.require(Power.RUN_MONEY)
        run, started = self._open(actor)
        return self.finish(run.id, actor=None if started else actor)  # a run started here is recorded already

    def start(self, *, actor: StaffActor) -> CollectionRun:
        """The open run (a crash left it unfinished), or a new one holding every pending collection (recorded)."""
        actor.require(Power.RUN_MONEY)
        return self._open(actor)[0]

    def _open(self, actor: StaffActor) -> tuple[CollectionRun, bool]:
        """The open run, or a new one; and whether it was started here."""
        for _ in range(_START_ATTEMPTS):
            try:
                with self._db.transaction() as tx:
                    found = run_store.find_open_run(tx)
                    if found is not None:
                        return found, False
                    run_id = self._take_pending(tx, actor)
            except INTEGRITY_ERRORS:
                continue  # another process opened a run meanwhile: take that one (or start anew once it is done)
            return self.get(run_id), True
        raise RuntimeError("could not open a collection run: another one kept opening meanwhile")

    def _take_pending(self, tx: RawTx, actor: StaffActor) -> str:
        now = self._clock()
        run_id = new_id("cr")
        run_store.insert_run(tx, run_id, collection_date_after(now), PURSE_CURRENCY, epoch_us(now))
        pending = run_store.take_pending(tx, PURSE_CURRENCY)
        first_uses: dict[str, None] = {}  # the accounts whose mandate this run uses first, in order
        sequences: list[tuple[str, str]] = []
        for collection in pending:
            first = collection.first_run_id is None and collection.bank_account_id not in first_uses
            if first:
                first_uses[collection.bank_account_id] = None
            sequences.append((collection.id, "FRST" if first else "RCUR"))
        run_store.submit_collections(tx, run_id, sequences, epoch_us(now))
        run_store.mark_first_runs(tx, run_id, list(first_uses))
        total = sum(c.amount for c in pending)
        run_store.set_totals(tx, run_id, len(pending), total)
        after = {"collection_count": len(pending), "total": total, "currency": PURSE_CURRENCY}
        audit.record(tx, actor, "collection_run_started", "collection_run", run_id, at=now, after=after)
        return run_id

    def finish(self, run_id: str, *, actor: StaffActor | None) -> CollectionRun:
        """Write the open run's file and complete it; a complete run is returned as it is. ``actor``, an operator
        finishing a run a crash left open, is recorded when it completes it (None: the act was recorded already)."""
        if actor is not None:
            actor.require(Power.RUN_MONEY)
        run = self.get(run_id)
        if run.status is RunStatus.COMPLETE:
            return run
        with self._db.transaction(write=False) as tx:
            debits = run_store.run_debits(tx, run_id)
        file = None
        if debits:
            file = write_direct_debits(
                self._own,
                [
                    DirectDebit(
                        end_to_end_id=sepa_reference(d.collection_id),
                        amount=d.amount,
                        name=d.holder_name,
                        iban=d.iban,
                        bic=d.bic,
                        mandate_id=d.mandate_id,
                        mandate_signed_on=from_epoch_us(d.mandate_signed_at).date(),
                        sequence=d.sequence,
                        remittance=REMITTANCE,
                    )
                    for d in debits
                ],
                message_id=sepa_reference(run.id),
                created_at=run.created_at,
                collection_date=run.collection_date,
            )
        with self._db.transaction() as tx:
            now = self._clock()
            # False when a concurrent finish stored the file first: the run is complete either way.
            if run_store.complete_run(tx, run_id, file, epoch_us(now)) and actor is not None:
                after = {"status": "complete", "collection_count": run.collection_count}
                audit.record(tx, actor, "collection_run_finished", "collection_run", run_id, at=now, after=after)
        return self.get(run_id)

    def get(self, run_id: str) -> CollectionRun:
        """A run by id."""
        with self._db.transaction(write=False) as tx:
            run = run_store.load_run(tx, run_id)
        if run is None:
            raise UnknownCollectionRun(f"no collection run {run_id}", param="id")
        return run

    def list(self, *, limit: int = 20, after: str | None = None) -> tuple[builtins.list[CollectionRun], bool]:
        """Runs newest first, after the ``after`` id; and whether more follow."""
        with self._db.transaction(write=False) as tx:
            if after is not None and run_store.load_run(tx, after) is None:
                raise UnknownCollectionRun(f"no collection run {after}", param="starting_after")
            runs = run_store.list_runs(tx, limit=limit + 1, after=after)
        return runs[:limit], len(runs) > limit

    def file(self, run_id: str) -> bytes:
        """The run's pain.008 file, exactly as it was stored when the run completed.

        Only reads: the file of a run a crash left open is ``CollectionRunOpen``, because a read that wrote the file
        would finish a run (and hand its collections to the bank) on a mere look, behind a retryable, cacheable GET.
        Starting a run finishes the open one first, as settlement does for its pain.001 files."""
        run = self.get(run_id)
        if run.status is RunStatus.OPEN:
            raise CollectionRunOpen(
                f"collection run {run_id} is still open: its file is not written yet. Finish it by starting a "
                f"collection run (POST /v1/collection-runs, or `kleline collect --run {run_id}`), then fetch the file",
                param="id",
            )
        with self._db.transaction(write=False) as tx:
            file = run_store.run_file(tx, run.id)
        if file is None:
            raise NoCollectionFile(f"collection run {run_id} found nothing to collect: it has no file", param="id")
        return file
