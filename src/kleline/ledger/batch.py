"""Planning a batch: which entries of a batch go into the books, in order, each on its own terms.

The plan runs inside the batch's transaction, after the chain head and the floored accounts' balances were read;
it admits or refuses each entry against the running available balances, links the admitted ones into the chain,
and sums their moves per account, so that the batch writes one balance update per account rather than one per
entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kleline.ledger import store
from kleline.ledger.chain import link
from kleline.ledger.errors import EntryConflict, InsufficientFunds
from kleline.ledger.model import BatchResult, Entry, EntryRequest, normal_delta
from kleline.ledger.store import AccountRow, EntryRow

__all__ = ["BatchPlan"]


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
    postings: list[dict[str, Any]] = field(default_factory=list)
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
        moves = [
            (accounts[p.account], normal_delta(accounts[p.account].account.normal_side, p.amount))
            for p in request.postings
        ]
        for account, move in moves:
            floor = account.account.floor
            if floor is not None and move < 0 and self.available[account.id] + move < floor:
                shortfall = InsufficientFunds(f"{account.code} has insufficient funds", account=account.code)
                return BatchResult(request.id, error=shortfall)
        for account, move in moves:
            if account.id in self.available:
                self.available[account.id] += move
            self.totals[account.id] = self.totals.get(account.id, 0) + move
        row = EntryRow.of(request.id, self.posted_at_us, request.description, request.metadata, request.postings)
        self.seq += 1
        self.head = link(self.head, row.content_hash)
        self.entries.append((row, self.seq, self.head))
        self.postings.extend(store.posting_rows(request.id, request.postings, accounts))
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
