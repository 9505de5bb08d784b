"""The ledger's one door: open accounts, post entries, hold, commit, void, expire, batch, read balances.

Every write is checked twice: here, in Python, so that a caller gets a precise error before anything is sent;
and by the database itself (constraints and triggers), so that no code path can bypass the rules. Every write is
idempotent on its id: the same request again returns the first result, another request under the same id is an
``EntryConflict``.

Concurrency: a floored account is only ever lowered through its slot 0 row, so concurrent spends queue on that
row and the database's floor check sees every committed spend; increases go to a random slot of eight, so a hot
account credited by every transfer does not serialise its writers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kleline.clock import Clock, epoch_us, from_epoch_us, system_clock
from kleline.db.engine import INTEGRITY_ERRORS, Database, RawTx, Read
from kleline.ledger import batch, holds, store
from kleline.ledger.books import Books
from kleline.ledger.errors import AccountConflict
from kleline.ledger.model import (
    Account,
    Balance,
    BatchResult,
    Entry,
    EntryRequest,
    Hold,
    HoldRequest,
    Metadata,
    NormalSide,
    Posting,
    normal_delta,
)

__all__ = ["HistoryLine", "HistoryQuery", "Ledger"]

_READ_CHUNK = 1000  # ids per IN list: far below both backends' limits on bound parameters


@dataclass(frozen=True, slots=True)
class HistoryLine:
    """One movement of an account: the entry, the change on the normal side, the balance after it.

    ``sequence`` orders movements (it is the posting's number) and serves as a paging cursor."""

    sequence: int
    entry_id: str
    posted_at: datetime
    amount: int
    balance_after: int
    description: str
    metadata: Metadata = field(default_factory=dict)
    """The entry's metadata (which payment, refund, merchant it books), for views that name them."""


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """A page of an account's history as one statement, for a view that reads more beside it to run in a statement
    of its own (``WITH purse AS (<sql>) SELECT ...``): one round trip where it would take several.

    ``sql`` selects ``id, entry_id, amount, posted_at, description, metadata, newest``, newest first; its parameters
    (``params``) are all named ``history_...``; ``lines`` reads those rows back, in that order and shape."""

    sql: str
    params: dict[str, object]
    side: NormalSide

    def lines(self, rows: Sequence[Sequence[Any]]) -> list[HistoryLine]:
        """The movements that ``rows`` of ``sql`` describe, newest first, each with the balance after it."""
        return [
            HistoryLine(
                int(seq),
                entry_id,
                from_epoch_us(int(at)),
                normal_delta(self.side, int(amount)),
                normal_delta(self.side, int(run)),
                d,
                json.loads(meta) if meta else {},
            )
            for seq, entry_id, amount, at, d, run, meta in store.running_lines(rows)
        ]


class Ledger:
    """Double-entry books over one database; safe to share between threads.

    Single entries and reads are worked here; batches are worked in ``ledger.batch`` and holds in
    ``ledger.holds``, all through one ``Books`` (``ledger.books``) so that they write alike."""

    def __init__(self, db: Database, *, clock: Clock = system_clock, chain_shards: int = 16) -> None:
        self.db = db
        self._books = Books(db, clock, chain_shards)
        self._accounts = self._books.accounts

    def prepare(self) -> None:
        """Create the hash chains this ledger writes to (idempotent; run once at start)."""
        with self.db.transaction() as tx:
            store.ensure_chains(tx, self._books.shards)

    # --- accounts ---------------------------------------------------------------------------------------------

    def open_account(self, code: str, currency: str, normal_side: NormalSide, *, floor: int | None = None) -> Account:
        """Open an account; opening it again with the same attributes returns it, with others is an error."""
        account = Account(code, currency, normal_side, floor)
        try:
            with self.db.transaction() as tx:
                row = store.insert_account(tx, account, epoch_us(self._books.clock()))
        except INTEGRITY_ERRORS:
            existing = self._accounts.find(code)
            if existing is None:
                raise
            row = existing
        if row.account != account:
            raise AccountConflict(f"account {code} exists with other attributes: {row.account}", param="code")
        self._accounts.remember(row)
        return account

    def open_accounts(self, accounts: Sequence[Account]) -> None:
        """Open each of ``accounts`` that does not exist, as ``open_account`` would; one read when all exist, so
        that a process may ensure its own accounts at every start without writing, and the missing ones opened
        together in one transaction (10,000 merchants' accounts in a second, not one transaction each)."""
        with self.db.transaction(write=False) as tx:
            found = store.find_accounts(tx, [account.code for account in accounts])
        missing = list({account.code: account for account in accounts if account.code not in found}.values())
        if len(missing) > 1:
            try:
                with self.db.transaction() as tx:
                    opened = store.insert_accounts(tx, missing, epoch_us(self._books.clock()))
                found.update((row.code, row) for row in opened)
            except INTEGRITY_ERRORS:
                pass  # another writer opened one of them meanwhile: open them one by one below, as it left them
        for account in accounts:
            row = found.get(account.code)
            if row is None:
                self.open_account(account.code, account.currency, account.normal_side, floor=account.floor)
            elif row.account != account:
                detail = f"account {account.code} exists with other attributes: {row.account}"
                raise AccountConflict(detail, param="code")
            else:
                self._accounts.remember(row)

    def account(self, code: str) -> Account:
        """The account with ``code``."""
        return self._accounts.resolve([code])[code].account

    def accounts(self) -> list[Account]:
        """Every account, by code."""
        with self.db.transaction(write=False) as tx:
            return [row.account for row in store.list_accounts(tx)]

    def balance(self, code: str) -> Balance:
        """Posted, held and available balances of an account, on its normal side."""
        return self._books.balance(code)

    def balance_read(self, code: str) -> Read[Balance]:
        """``balance`` as a read that may travel with others in one round trip (``RawTx.read_all``)."""
        return self._books.balance_read(code)

    def posted_read(self, code: str) -> Read[int]:
        """The posted balance of ``code``, zero while no such account is open (a debt's receivable opens with the
        first bank account), as a read of one row that may join others (``one_row_reads``)."""
        return self._books.posted_read(code)

    def balances(self, codes: Sequence[str]) -> dict[str, Balance]:
        """The balances of many accounts, read a thousand at a time (a settlement run reads every merchant's)."""
        found: dict[str, Balance] = {}
        with self.db.transaction(write=False) as tx:
            for start in range(0, len(codes), _READ_CHUNK):
                rows = self._accounts.resolve(codes[start : start + _READ_CHUNK])
                sums = store.read_balances(tx, [row.id for row in rows.values()])
                for code, row in rows.items():
                    posted, held = sums.get(row.id, (0, 0))
                    found[code] = Balance(code, row.account.currency, posted, held, row.account.floor)
        return found

    def history(
        self,
        code: str,
        *,
        limit: int = 50,
        before: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        tx: RawTx | None = None,
    ) -> list[HistoryLine]:
        """An account's movements, newest first, each with the balance after it; only those posted from ``since``
        (included) to ``until`` (excluded) when given. With ``tx``, read in the caller's transaction (a page that
        reads more beside them)."""
        query = self.history_query(code, limit=limit, before=before, since=since, until=until)
        if tx is not None:
            return query.lines(tx.fetchall(query.sql, query.params))
        with self.db.transaction(write=False) as own:
            return query.lines(own.fetchall(query.sql, query.params))

    def history_query(
        self,
        code: str,
        *,
        limit: int = 50,
        before: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> HistoryQuery:
        """The statement ``history`` runs, for a caller to run inside a statement of its own (see ``HistoryQuery``)."""
        row = self._accounts.resolve([code])[code]
        window = (None if since is None else epoch_us(since), None if until is None else epoch_us(until))
        sql, params = store.history_statement(row.id, limit, before, *window)
        return HistoryQuery(sql, params, row.account.normal_side)

    # --- entries ----------------------------------------------------------------------------------------------

    def post(self, request: EntryRequest) -> Entry:
        """Post one balanced entry, atomically; a floored account that would go below its floor refuses it."""
        accounts = self._accounts.resolve_postings(request.postings)
        try:
            with self.db.statement() as tx:
                posted_at, shard = self._books.write_entry(tx, request, accounts)
        except INTEGRITY_ERRORS as error:
            return self._books.replay_or_raise(request, accounts, error)
        return self._books.posted(request, posted_at, shard)

    def post_in(self, tx: RawTx, request: EntryRequest) -> Entry:
        """Post one balanced entry inside the caller's transaction, so that it commits or vanishes with the
        caller's own writes (a payment's state, its event, its receipt).

        A floored account that would go below its floor raises ``InsufficientFunds``, and the caller must let its
        transaction roll back (PostgreSQL has aborted it). There is no idempotent replay here: the caller's own
        state, written in the same transaction, is what says whether the entry was already posted."""
        accounts = self._accounts.resolve_postings(request.postings, tx=tx)
        try:
            posted_at, shard = self._books.write_entry(tx, request, accounts)
        except INTEGRITY_ERRORS as error:
            raise self._books.translate(error, request.postings, accounts) from None
        return self._books.posted(request, posted_at, shard)

    def entry(self, entry_id: str) -> Entry:
        """A posted entry."""
        return self._books.entry(entry_id)

    def post_batch(self, requests: Sequence[EntryRequest]) -> list[BatchResult]:
        """Post many entries in one transaction; each is accepted or refused on its own, in order.

        An entry whose id appears earlier in the batch (or in the books) with the same content is an idempotent
        replay; with other content it is refused, as are entries naming unknown accounts or crossing a floor."""
        return batch.post_batch(self._books, requests)

    def post_batch_in(self, tx: RawTx, requests: Sequence[EntryRequest]) -> list[BatchResult]:
        """Post many entries inside the caller's transaction, each judged as ``post_batch`` judges it, so that they
        commit or vanish with the caller's own rows (a settlement run's payouts).

        A concurrent writer that spends a floored account between the batch's read and its write makes the database
        refuse the whole batch (a driver integrity error, as listed in ``INTEGRITY_ERRORS``): the caller's
        transaction must then roll back, and the caller may try again, as ``post_batch`` does on its own."""
        return batch.post_batch_in(self._books, tx, requests)

    # --- holds ------------------------------------------------------------------------------------------------

    def hold(self, request: HoldRequest) -> Hold:
        """Reserve funds on every account the pending entry would lower, until commit, void or expiry."""
        return holds.hold(self._books, request)

    def hold_in(self, tx: RawTx, request: HoldRequest) -> None:
        """Reserve funds inside the caller's transaction (see ``post_in``): ``InsufficientFunds`` when a floored
        account cannot cover it, after which the caller's transaction must roll back."""
        holds.hold_in(self._books, tx, request)

    def get_hold(self, hold_id: str) -> Hold:
        """A hold, in whatever state it is."""
        return holds.get(self._books, hold_id)

    def commit(
        self,
        hold_id: str,
        *,
        postings: Sequence[Posting] | None = None,
        entry_id: str | None = None,
        description: str | None = None,
        metadata: Metadata | None = None,
    ) -> Entry:
        """Post a held entry, in full (its own postings) or in part (``postings`` lowering held accounts by no more
        than was held); whatever was held and not taken is released."""
        return holds.commit(
            self._books, hold_id, postings=postings, entry_id=entry_id, description=description, metadata=metadata
        )

    def void(self, hold_id: str) -> Hold:
        """Release a pending hold entirely; voiding a voided hold again returns it."""
        return holds.void(self._books, hold_id)

    def expire_holds(self, *, limit: int = 1000) -> list[str]:
        """Release every pending hold past its expiry (the sweep); returns the ids it expired."""
        return holds.expire(self._books, limit)
