"""Posting a batch: many entries in one transaction, each admitted or refused on its own terms, in order.

``post_batch`` and ``post_batch_in`` (behind ``Ledger``'s methods of the same names) resolve every entry's accounts
first, so that an unknown account or a wrong currency refuses only that entry; then, in one transaction, they read
the chain head and the floored accounts' balances and let a ``BatchPlan`` judge the entries.

The plan runs inside the batch's transaction, after the chain head and the floored accounts' balances were read;
it admits or refuses each entry against the running available balances, links the admitted ones into the chain,
and sums their moves per account, so that the batch writes one balance update per account rather than one per
entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from kleline.clock import epoch_us
from kleline.db.engine import INTEGRITY_ERRORS, RawTx
from kleline.ledger import store
from kleline.ledger.books import Books
from kleline.ledger.chain import link
from kleline.ledger.errors import CurrencyMismatch, EntryConflict, InsufficientFunds, UnknownAccount
from kleline.ledger.model import BatchResult, Entry, EntryRequest, normal_delta
from kleline.ledger.store import AccountRow, EntryRow, SlotDelta

__all__ = ["BATCH_ATTEMPTS", "BatchPlan", "post_batch", "post_batch_in"]

BATCH_ATTEMPTS = 5

# Each request's accounts, or the result that refuses it before the batch's transaction starts.
_Resolved = list[dict[str, AccountRow] | BatchResult]


def post_batch(books: Books, requests: Sequence[EntryRequest]) -> list[BatchResult]:
    """Post ``requests`` in a transaction of their own, retrying when a concurrent writer got in between."""
    resolved = _resolve(books, requests)
    for attempt in range(BATCH_ATTEMPTS):
        try:
            with books.db.transaction() as tx:
                return _write(books, tx, requests, resolved)
        except INTEGRITY_ERRORS:
            # A concurrent writer spent a floored account or posted one of our ids between our read and our
            # write; the database refused the whole batch, so nothing is half-done. Read again and retry.
            if attempt == BATCH_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def post_batch_in(books: Books, tx: RawTx, requests: Sequence[EntryRequest]) -> list[BatchResult]:
    """Post ``requests`` inside the caller's transaction ``tx``, once: retrying is the caller's to decide."""
    return _write(books, tx, requests, _resolve(books, requests))


def _resolve(books: Books, requests: Sequence[EntryRequest]) -> _Resolved:
    resolved: _Resolved = []
    for request in requests:
        try:
            resolved.append(books.accounts.resolve_postings(request.postings))
        except (UnknownAccount, CurrencyMismatch) as error:
            resolved.append(BatchResult(request.id, error=error))
    return resolved


def _write(books: Books, tx: RawTx, requests: Sequence[EntryRequest], resolved: _Resolved) -> list[BatchResult]:
    now = books.clock()
    shard = books.shard()
    floored = {
        row.id
        for accounts in resolved
        if isinstance(accounts, dict)
        for row in accounts.values()
        if row.account.floor is not None
    }
    seq, head = store.lock_chain(tx, shard, for_update=books.db.is_postgres)
    balances = store.read_balances(tx, sorted(floored))
    plan = BatchPlan(
        posted_at_us=epoch_us(now),
        posted_at=now,
        shard=shard,
        seq=seq,
        head=head,
        available={account_id: posted - held for account_id, (posted, held) in balances.items()},
        existing=store.load_entries(tx, [request.id for request in requests]),
    )
    results = [
        accounts if isinstance(accounts, BatchResult) else plan.admit(request, accounts)
        for request, accounts in zip(requests, resolved, strict=True)
    ]
    if plan.entries:
        store.append_entries(tx, shard, plan.entries, plan.postings)
        store.apply_many_deltas(tx, [_delta(books, a, move, a in floored) for a, move in plan.totals.items()])
    return results


def _delta(books: Books, account_id: int, move: int, floored: bool) -> SlotDelta:
    # A floored account's net move goes through slot 0, where the database checks the floor; others spread.
    slot = 0 if floored else books.random.randrange(store.SLOTS)
    return SlotDelta(account_id, slot, move, 0)


@dataclass
class BatchPlan:
    """The admitted entries of a batch, their postings, and each account's net move."""

    posted_at_us: int
    posted_at: datetime
    shard: int
    seq: int
    head: bytes
    available: dict[int, int]
    """Available balance of every floored account the batch touches, as the admitted entries leave it."""
    existing: dict[str, Entry]
    """Entries of this batch's ids that were already in the books."""
    entries: list[tuple[EntryRow, int, bytes]] = field(default_factory=list)
    postings: list[store.PostingRow] = field(default_factory=list)
    totals: dict[int, int] = field(default_factory=dict)

    def admit(self, request: EntryRequest, accounts: dict[str, AccountRow]) -> BatchResult:
        """Admit ``request`` if it is new and no floored account would cross its floor; say why not otherwise."""
        known = self.existing.get(request.id)
        if known is not None:
            if known.same_request(request):
                return BatchResult(request.id, entry=known)
            return BatchResult(
                request.id, error=EntryConflict(f"entry {request.id} was already posted with other content")
            )
        # (row, move on its normal side, line, posting) for each leg: looked up once, used by every step below.
        legs = [
            (row, normal_delta(row.account.normal_side, p.amount), line, p)
            for line, p in enumerate(request.postings)
            for row in (accounts[p.account],)
        ]
        available = self.available
        for row, move, _, _ in legs:
            floor = row.account.floor
            if floor is not None and move < 0 and available[row.id] + move < floor:
                shortfall = InsufficientFunds(f"{row.code} has insufficient funds", account=row.code)
                return BatchResult(request.id, error=shortfall)
        totals, postings = self.totals, self.postings
        for row, move, line, p in legs:
            if row.id in available:
                available[row.id] += move
            totals[row.id] = totals.get(row.id, 0) + move
            postings.append((request.id, line, row.id, p.currency, p.amount))
        entry_row = EntryRow.of(request.id, self.posted_at_us, request.description, request.metadata, request.postings)
        self.seq += 1
        self.head = link(self.head, entry_row.content_hash)
        self.entries.append((entry_row, self.seq, self.head))
        entry = Entry(
            request.id,
            self.posted_at,
            request.postings,
            request.description,
            request.metadata,
            self.shard,
            self.seq,
            self.head,
        )
        self.existing[request.id] = entry  # a second copy later in the batch is then an idempotent replay
        return BatchResult(request.id, entry=entry)
