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
from kleline.ledger.chain import content_hash, link
from kleline.ledger.errors import CurrencyMismatch, EntryConflict, InsufficientFunds, UnknownAccount
from kleline.ledger.model import BatchResult, Entry, EntryRequest, NormalSide
from kleline.ledger.store import AccountRow, SlotDelta, dump_metadata

__all__ = ["BATCH_ATTEMPTS", "BatchPlan", "post_batch", "post_batch_in"]

BATCH_ATTEMPTS = 5

# Each request's account rows, in the order of its postings, or the result that refuses it before the batch's
# transaction starts.
_Resolved = list[tuple[AccountRow, ...] | BatchResult]


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
    # Cached accounts in their postings' currencies are looked up here directly, without a call per request: a
    # batch of 1,000 transfers spent more on resolving than on writing. Anything else takes the cache's full path.
    cached = books.accounts.cached()
    resolved: _Resolved = []
    for request in requests:
        postings = request.postings
        try:
            rows = tuple([cached[p.account] for p in postings])
        except KeyError:
            rows = ()
        if rows and all(row.account.currency == p.currency for row, p in zip(rows, postings, strict=True)):
            resolved.append(rows)
            continue
        try:
            accounts = books.accounts.resolve_postings(postings)
        except (UnknownAccount, CurrencyMismatch) as error:
            resolved.append(BatchResult(request.id, error=error))
        else:
            resolved.append(tuple([accounts[p.account] for p in postings]))
    return resolved


def _write(books: Books, tx: RawTx, requests: Sequence[EntryRequest], resolved: _Resolved) -> list[BatchResult]:
    now = books.clock()
    shard = books.shard()
    floored = {
        row.id
        for rows in resolved
        if not isinstance(rows, BatchResult)
        for row in rows
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
    admit = plan.admit
    results = [
        rows if isinstance(rows, BatchResult) else admit(request, rows)
        for request, rows in zip(requests, resolved, strict=True)
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
    entries: list[store.EntryValues] = field(default_factory=list)
    postings: list[store.PostingRow] = field(default_factory=list)
    totals: dict[int, int] = field(default_factory=dict)

    def admit(self, request: EntryRequest, rows: tuple[AccountRow, ...]) -> BatchResult:
        """Admit ``request`` (its postings' account ``rows`` in order) if it is new and no floored account would
        cross its floor; say why not otherwise."""
        entry_id = request.id
        known = self.existing.get(entry_id)
        if known is not None:
            if known.same_request(request):
                return BatchResult(entry_id, entry=known)
            return BatchResult(entry_id, error=EntryConflict(f"entry {entry_id} was already posted with other content"))
        postings = request.postings
        # Each leg's move on its account's normal side, judged against the floors before anything is recorded.
        moves = []
        available = self.available
        for row, p in zip(rows, postings, strict=True):
            account = row.account
            move = p.amount if account.normal_side is NormalSide.DEBIT else -p.amount
            floor = account.floor
            if floor is not None and move < 0 and available[row.id] + move < floor:
                shortfall = InsufficientFunds(f"{row.code} has insufficient funds", account=row.code)
                return BatchResult(entry_id, error=shortfall)
            moves.append(move)
        totals, recorded = self.totals, self.postings
        for line, (row, p, move) in enumerate(zip(rows, postings, moves, strict=True)):
            account_id = row.id
            if account_id in available:
                available[account_id] += move
            totals[account_id] = totals.get(account_id, 0) + move
            recorded.append((entry_id, line, account_id, p.currency, p.amount))
        description, metadata = request.description, request.metadata
        content = content_hash(entry_id, self.posted_at_us, description, metadata, postings)
        self.seq += 1
        self.head = link(self.head, content)
        self.entries.append(
            (
                entry_id,
                self.posted_at_us,
                description,
                dump_metadata(metadata),
                content,
                self.shard,
                self.seq,
                self.head,
            )
        )
        entry = Entry(entry_id, self.posted_at, postings, description, metadata, self.shard, self.seq, self.head)
        self.existing[entry_id] = entry  # a second copy later in the batch is then an idempotent replay
        return BatchResult(entry_id, entry=entry)
