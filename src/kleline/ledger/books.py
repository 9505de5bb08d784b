"""What every ledger write shares: the database, the clock, the hash-chain shards, the account cache, the slot dice.

``Ledger`` is the one door; behind it, single entries (here), holds (``ledger.holds``) and batches
(``ledger.batch``) all write through one ``Books``, so that they pick balance slots, translate the database's
refusals and replay idempotent requests in exactly the same way. Nothing outside the ledger package uses it.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence

from kleline.clock import Clock, epoch_us, from_epoch_us
from kleline.db.engine import Database, RawTx, Read, is_floor_violation
from kleline.ledger import store
from kleline.ledger.accounts import AccountCache
from kleline.ledger.errors import EntryConflict, InsufficientFunds, InvalidEntry
from kleline.ledger.model import Balance, Entry, EntryRequest, Posting, normal_delta
from kleline.ledger.store import AccountRow, EntryRow, SlotDelta

__all__ = ["Books"]


class Books:
    """The shared state and write helpers behind ``Ledger``; safe to share between threads."""

    def __init__(self, db: Database, clock: Clock, shards: int) -> None:
        self.db = db
        self.clock = clock
        self.shards = shards
        self.accounts = AccountCache(db)
        self.random = random.Random()

    def shard(self) -> int:
        """A random hash chain, so that concurrent writers rarely queue on the same chain head."""
        return self.random.randrange(self.shards)

    def balance(self, code: str) -> Balance:
        """Posted, held and available balances of an account, on its normal side."""
        with self.db.transaction(write=False) as tx:
            return tx.read(self.balance_read(code))

    def balance_read(self, code: str) -> Read[Balance]:
        """``balance`` as a read that may travel with others (``RawTx.read_all``); the account is looked up now."""
        row = self.accounts.resolve([code])[code]
        sums = store.balance_read(row.id)

        def balance(rows: list[object]) -> Balance:
            posted, held = sums.decode(rows)
            return Balance(code, row.account.currency, posted, held, row.account.floor)

        return Read(sums.sql, sums.params, balance, sums.width)

    def posted_read(self, code: str) -> Read[int]:
        """The posted balance of ``code`` (zero while no such account is open), as a read of one row: by the
        account's id when the cache knows it, else by its code in the same statement (no look-up of its own)."""
        row = self.accounts.cached().get(code)
        if row is None:
            return store.posted_by_code_read(code)
        sums = store.balance_read(row.id)
        return Read(sums.sql, sums.params, lambda rows: sums.decode(rows)[0], sums.width)

    def entry(self, entry_id: str) -> Entry:
        """A posted entry; ``InvalidEntry`` if there is none."""
        with self.db.transaction(write=False) as tx:
            found = store.load_entries(tx, [entry_id])
        if entry_id not in found:
            raise InvalidEntry(f"no entry {entry_id}", param="id")
        return found[entry_id]

    def write_entry(self, tx: RawTx, request: EntryRequest, accounts: dict[str, AccountRow]) -> tuple[int, int]:
        """Write one entry in ``tx``; returns its posting time (epoch microseconds) and its chain shard."""
        posted_at = epoch_us(self.clock())
        row = EntryRow.of(request.id, posted_at, request.description, request.metadata, request.postings)
        shard = self.shard()
        postings = store.posting_rows(request.id, request.postings, accounts)
        store.post_entry(tx, row, shard, postings, self.deltas(request.postings, accounts, {}))
        return posted_at, shard

    def deltas(
        self, postings: Iterable[Posting], accounts: dict[str, AccountRow], released: dict[int, int]
    ) -> list[SlotDelta]:
        """The balance-slot changes of ``postings``; ``released`` names the held accounts (by id) a commit frees."""
        deltas = []
        for p in postings:
            row = accounts[p.account]
            move = normal_delta(row.account.normal_side, p.amount)
            # Lowering a floored (or held) account goes through slot 0, where concurrent spends queue and the
            # database checks the floor; anything else spreads over the slots.
            lowers_guarded = move < 0 and (row.account.floor is not None or row.id in released)
            slot = 0 if lowers_guarded else self.random.randrange(store.SLOTS)
            deltas.append(SlotDelta(row.id, slot, move, 0))
        return deltas

    @staticmethod
    def posted(request: EntryRequest, posted_at: int, shard: int) -> Entry:
        """The entry just written for ``request``, without its chain position."""
        # The database computed the chain link; reading it back would cost a round trip nobody needs here.
        return Entry(
            request.id,
            from_epoch_us(posted_at),
            request.postings,
            request.description,
            request.metadata,
            shard,
            None,
            None,
        )

    def replay_or_raise(self, request: EntryRequest, accounts: dict[str, AccountRow], error: Exception) -> Entry:
        """After the database refused ``request``: the entry already posted under its id if it is the same request,
        ``EntryConflict`` if it is another, or the refusal in the ledger's words."""
        with self.db.transaction(write=False) as tx:
            existing = store.load_entries(tx, [request.id]).get(request.id)
        if existing is not None:
            if existing.same_request(request):
                return existing
            raise EntryConflict(f"entry {request.id} was already posted with other content", param="id") from None
        raise self.translate(error, request.postings, accounts) from error

    def translate(self, error: Exception, postings: Sequence[Posting], accounts: dict[str, AccountRow]) -> Exception:
        """A database floor violation as ``InsufficientFunds`` naming the account if one can be told; else ``error``."""
        if not is_floor_violation(error):
            return error
        for p in postings:
            row = accounts[p.account]
            if row.account.floor is not None and normal_delta(row.account.normal_side, p.amount) < 0:
                balance = self.balance(row.code)
                if balance.available + normal_delta(row.account.normal_side, p.amount) < row.account.floor:
                    return InsufficientFunds(f"{row.code} has insufficient funds", account=row.code)
        return InsufficientFunds("an account would go below its floor")
