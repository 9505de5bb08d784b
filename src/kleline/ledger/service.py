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
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from kleline.clock import Clock, epoch_us, from_epoch_us, system_clock
from kleline.db.engine import INTEGRITY_ERRORS, Database, RawTx, is_floor_violation
from kleline.ledger import store
from kleline.ledger.accounts import AccountCache
from kleline.ledger.batch import BatchPlan
from kleline.ledger.errors import (
    AccountConflict,
    CurrencyMismatch,
    EntryConflict,
    HoldCommitTooLarge,
    HoldNotPending,
    InsufficientFunds,
    InvalidEntry,
    UnknownAccount,
    UnknownHold,
)
from kleline.ledger.model import (
    Account,
    Balance,
    BatchResult,
    Entry,
    EntryRequest,
    Hold,
    HoldRequest,
    HoldStatus,
    Metadata,
    NormalSide,
    Posting,
    normal_delta,
)
from kleline.ledger.store import AccountRow, EntryRow, SlotDelta

__all__ = ["HistoryLine", "Ledger"]

BATCH_ATTEMPTS = 5
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


class Ledger:
    """Double-entry books over one database; safe to share between threads."""

    def __init__(self, db: Database, *, clock: Clock = system_clock, chain_shards: int = 16) -> None:
        self.db = db
        self._clock = clock
        self._shards = chain_shards
        self._accounts = AccountCache(db)
        self._random = random.Random()

    def prepare(self) -> None:
        """Create the hash chains this ledger writes to (idempotent; run once at start)."""
        with self.db.transaction() as tx:
            store.ensure_chains(tx, self._shards)

    # --- accounts ---------------------------------------------------------------------------------------------

    def open_account(self, code: str, currency: str, normal_side: NormalSide, *, floor: int | None = None) -> Account:
        """Open an account; opening it again with the same attributes returns it, with others is an error."""
        account = Account(code, currency, normal_side, floor)
        try:
            with self.db.transaction() as tx:
                row = store.insert_account(tx, account, epoch_us(self._clock()))
        except INTEGRITY_ERRORS:
            existing = self._accounts.find(code)
            if existing is None:
                raise
            row = existing
        if row.account != account:
            raise AccountConflict(f"account {code} exists with other attributes: {row.account}", param="code")
        self._accounts.remember(row)
        return account

    def account(self, code: str) -> Account:
        """The account with ``code``."""
        return self._accounts.resolve([code])[code].account

    def accounts(self) -> list[Account]:
        """Every account, by code."""
        with self.db.transaction(write=False) as tx:
            return [row.account for row in store.list_accounts(tx)]

    def balance(self, code: str) -> Balance:
        """Posted, held and available balances of an account, on its normal side."""
        row = self._accounts.resolve([code])[code]
        with self.db.transaction(write=False) as tx:
            posted, held = store.read_balance(tx, row.id)
        return Balance(code, row.account.currency, posted, held, row.account.floor)

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

    def history(self, code: str, *, limit: int = 50, before: int | None = None) -> list[HistoryLine]:
        """An account's movements, newest first, each with the balance after it."""
        row = self._accounts.resolve([code])[code]
        side = row.account.normal_side
        with self.db.transaction(write=False) as tx:
            lines = store.history(tx, row.id, limit, before)
        return [
            HistoryLine(
                int(seq),
                entry_id,
                from_epoch_us(int(at)),
                normal_delta(side, int(amount)),
                normal_delta(side, int(run)),
                d,
            )
            for seq, entry_id, amount, at, d, run in lines
        ]

    # --- entries ----------------------------------------------------------------------------------------------

    def post(self, request: EntryRequest) -> Entry:
        """Post one balanced entry, atomically; a floored account that would go below its floor refuses it."""
        accounts = self._accounts.resolve_postings(request.postings)
        try:
            with self.db.statement() as tx:
                posted_at, shard = self._write_entry(tx, request, accounts)
        except INTEGRITY_ERRORS as error:
            return self._replay_or_raise(request, accounts, error)
        return self._posted(request, posted_at, shard)

    def post_in(self, tx: RawTx, request: EntryRequest) -> Entry:
        """Post one balanced entry inside the caller's transaction, so that it commits or vanishes with the
        caller's own writes (a payment's state, its event, its receipt).

        A floored account that would go below its floor raises ``InsufficientFunds``, and the caller must let its
        transaction roll back (PostgreSQL has aborted it). There is no idempotent replay here: the caller's own
        state, written in the same transaction, is what says whether the entry was already posted."""
        accounts = self._accounts.resolve_postings(request.postings)
        try:
            posted_at, shard = self._write_entry(tx, request, accounts)
        except INTEGRITY_ERRORS as error:
            raise self._translate(error, request.postings, accounts) from None
        return self._posted(request, posted_at, shard)

    def _write_entry(self, tx: RawTx, request: EntryRequest, accounts: dict[str, AccountRow]) -> tuple[int, int]:
        posted_at = epoch_us(self._clock())
        row = EntryRow.of(request.id, posted_at, request.description, request.metadata, request.postings)
        shard = self._random.randrange(self._shards)
        postings = store.posting_rows(request.id, request.postings, accounts)
        store.post_entry(tx, row, shard, postings, self._deltas(request.postings, accounts, {}))
        return posted_at, shard

    def entry(self, entry_id: str) -> Entry:
        """A posted entry."""
        with self.db.transaction(write=False) as tx:
            found = store.load_entries(tx, [entry_id])
        if entry_id not in found:
            raise InvalidEntry(f"no entry {entry_id}", param="id")
        return found[entry_id]

    def post_batch(self, requests: Sequence[EntryRequest]) -> list[BatchResult]:
        """Post many entries in one transaction; each is accepted or refused on its own, in order.

        An entry whose id appears earlier in the batch (or in the books) with the same content is an idempotent
        replay; with other content it is refused, as are entries naming unknown accounts or crossing a floor."""
        resolved = self._resolve_batch(requests)
        for attempt in range(BATCH_ATTEMPTS):
            try:
                return self._try_batch(requests, resolved)
            except INTEGRITY_ERRORS:
                # A concurrent writer spent a floored account or posted one of our ids between our read and our
                # write; the database refused the whole batch, so nothing is half-done. Read again and retry.
                if attempt == BATCH_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def post_batch_in(self, tx: RawTx, requests: Sequence[EntryRequest]) -> list[BatchResult]:
        """Post many entries inside the caller's transaction, each judged as ``post_batch`` judges it, so that they
        commit or vanish with the caller's own rows (a settlement run's payouts).

        A concurrent writer that spends a floored account between the batch's read and its write makes the database
        refuse the whole batch (a driver integrity error, as listed in ``INTEGRITY_ERRORS``): the caller's
        transaction must then roll back, and the caller may try again, as ``post_batch`` does on its own."""
        return self._batch_in(tx, requests, self._resolve_batch(requests))

    def _resolve_batch(self, requests: Sequence[EntryRequest]) -> list[dict[str, AccountRow] | BatchResult]:
        resolved: list[dict[str, AccountRow] | BatchResult] = []
        for request in requests:
            try:
                resolved.append(self._accounts.resolve_postings(request.postings))
            except (UnknownAccount, CurrencyMismatch) as error:
                resolved.append(BatchResult(request.id, error=error))
        return resolved

    def _try_batch(
        self, requests: Sequence[EntryRequest], resolved: list[dict[str, AccountRow] | BatchResult]
    ) -> list[BatchResult]:
        with self.db.transaction() as tx:
            return self._batch_in(tx, requests, resolved)

    def _batch_in(
        self, tx: RawTx, requests: Sequence[EntryRequest], resolved: list[dict[str, AccountRow] | BatchResult]
    ) -> list[BatchResult]:
        now = self._clock()
        shard = self._random.randrange(self._shards)
        floored = {
            row.id
            for accounts in resolved
            if isinstance(accounts, dict)
            for row in accounts.values()
            if row.account.floor is not None
        }
        seq, head = store.lock_chain(tx, shard, for_update=self.db.is_postgres)
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
            store.apply_deltas(tx, [self._batch_delta(a, move, a in floored) for a, move in plan.totals.items()])
        return results

    def _batch_delta(self, account_id: int, move: int, floored: bool) -> SlotDelta:
        # A floored account's net move goes through slot 0, where the database checks the floor; others spread.
        slot = 0 if floored else self._random.randrange(store.SLOTS)
        return SlotDelta(account_id, slot, move, 0)

    # --- holds ------------------------------------------------------------------------------------------------

    def hold(self, request: HoldRequest) -> Hold:
        """Reserve funds on every account the pending entry would lower, until commit, void or expiry."""
        accounts = self._accounts.resolve_postings(request.postings)
        try:
            with self.db.transaction() as tx:
                self._write_hold(tx, request, accounts)
        except INTEGRITY_ERRORS as error:
            existing = self._find_hold(request.id)
            if existing is not None:
                if existing.same_request(request):
                    return existing
                raise EntryConflict(f"hold {request.id} already exists with other content", param="id") from None
            raise self._translate(error, request.postings, accounts) from None
        return self.get_hold(request.id)

    def hold_in(self, tx: RawTx, request: HoldRequest) -> None:
        """Reserve funds inside the caller's transaction (see ``post_in``): ``InsufficientFunds`` when a floored
        account cannot cover it, after which the caller's transaction must roll back."""
        accounts = self._accounts.resolve_postings(request.postings)
        try:
            self._write_hold(tx, request, accounts)
        except INTEGRITY_ERRORS as error:
            raise self._translate(error, request.postings, accounts) from None

    def _write_hold(self, tx: RawTx, request: HoldRequest, accounts: dict[str, AccountRow]) -> None:
        now = self._clock()
        if request.expires_at <= now:
            raise InvalidEntry("a hold must expire in the future", param="expires_at")
        reserved = {
            p.account: -move
            for p in request.postings
            if (move := normal_delta(accounts[p.account].account.normal_side, p.amount)) < 0
        }
        row = {
            "id": request.id,
            "created_at": epoch_us(now),
            "expires_at": epoch_us(request.expires_at),
            "description": request.description,
            "metadata": store.dump_metadata(request.metadata),
            "postings": store.dump_postings(request.postings),
            "reserved": json.dumps(reserved, sort_keys=True),
        }
        store.insert_hold(tx, row)
        store.apply_deltas(tx, [SlotDelta(accounts[c].id, 0, 0, amount) for c, amount in reserved.items()])

    def get_hold(self, hold_id: str) -> Hold:
        """A hold, in whatever state it is."""
        hold = self._find_hold(hold_id)
        if hold is None:
            raise UnknownHold(f"no hold {hold_id}", param="hold_id")
        return hold

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
        hold = self.get_hold(hold_id)
        request = EntryRequest(
            entry_id or f"{hold_id}:commit",
            tuple(postings) if postings is not None else hold.postings,
            hold.description if description is None else description,
            hold.metadata if metadata is None else metadata,
        )
        if hold.status is HoldStatus.COMMITTED and hold.entry_id == request.id:
            entry = self.entry(request.id)
            if entry.same_request(request):
                return entry
        if hold.status is not HoldStatus.PENDING:
            raise HoldNotPending(f"hold {hold_id} is {hold.status.value}", param="hold_id")
        if self._clock() >= hold.expires_at:
            self._close(hold, HoldStatus.EXPIRED)
            raise HoldNotPending(f"hold {hold_id} has expired", param="hold_id")
        accounts = self._accounts.resolve_postings(request.postings)
        for p in request.postings:
            move = normal_delta(accounts[p.account].account.normal_side, p.amount)
            if move < 0 and -move > hold.reserved.get(p.account, 0):
                raise HoldCommitTooLarge(
                    f"commit takes {-move} from {p.account}, which has {hold.reserved.get(p.account, 0)} held",
                    param="postings",
                )
        held_accounts = self._accounts.resolve(hold.reserved)
        posted_at = epoch_us(self._clock())
        row = EntryRow.of(request.id, posted_at, request.description, request.metadata, request.postings)
        try:
            with self.db.transaction() as tx:
                if store.close_hold(tx, hold_id, HoldStatus.COMMITTED.value, posted_at, request.id) is None:
                    raise HoldNotPending(f"hold {hold_id} was closed meanwhile", param="hold_id")
                shard = self._random.randrange(self._shards)
                releases = {held_accounts[c].id: amount for c, amount in hold.reserved.items()}
                deltas = self._deltas(request.postings, accounts, releases)
                deltas += [SlotDelta(i, 0, 0, -amount) for i, amount in releases.items()]
                legs = store.posting_rows(request.id, request.postings, accounts)
                store.post_entry(tx, row, shard, legs, deltas)
        except INTEGRITY_ERRORS as error:
            return self._replay_or_raise(request, accounts, error)
        return self._posted(request, posted_at, shard)

    def void(self, hold_id: str) -> Hold:
        """Release a pending hold entirely; voiding a voided hold again returns it."""
        hold = self.get_hold(hold_id)
        if hold.status is HoldStatus.VOIDED:
            return hold
        if hold.status is not HoldStatus.PENDING:
            raise HoldNotPending(f"hold {hold_id} is {hold.status.value}", param="hold_id")
        return self._close(hold, HoldStatus.VOIDED)

    def expire_holds(self, *, limit: int = 1000) -> list[str]:
        """Release every pending hold past its expiry (the sweep); returns the ids it expired."""
        with self.db.transaction(write=False) as tx:
            due = store.expired_holds(tx, epoch_us(self._clock()), limit)
        expired = []
        for hold_id in due:
            hold = self.get_hold(hold_id)
            if hold.status is HoldStatus.PENDING:
                try:
                    self._close(hold, HoldStatus.EXPIRED)
                except HoldNotPending:
                    continue  # committed or voided by someone else meanwhile
                expired.append(hold_id)
        return expired

    def _close(self, hold: Hold, status: HoldStatus) -> Hold:
        accounts = self._accounts.resolve(hold.reserved)
        with self.db.transaction() as tx:
            if store.close_hold(tx, hold.id, status.value, epoch_us(self._clock()), None) is None:
                raise HoldNotPending(f"hold {hold.id} was closed meanwhile", param="hold_id")
            store.apply_deltas(tx, [SlotDelta(accounts[c].id, 0, 0, -amount) for c, amount in hold.reserved.items()])
        return self.get_hold(hold.id)

    # --- helpers ----------------------------------------------------------------------------------------------

    @staticmethod
    def _posted(request: EntryRequest, posted_at: int, shard: int) -> Entry:
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

    def _find_hold(self, hold_id: str) -> Hold | None:
        with self.db.transaction(write=False) as tx:
            return store.find_hold(tx, hold_id)

    def _deltas(
        self, postings: Iterable[Posting], accounts: dict[str, AccountRow], released: dict[int, int]
    ) -> list[SlotDelta]:
        deltas = []
        for p in postings:
            row = accounts[p.account]
            move = normal_delta(row.account.normal_side, p.amount)
            # Lowering a floored (or held) account goes through slot 0, where concurrent spends queue and the
            # database checks the floor; anything else spreads over the slots.
            lowers_guarded = move < 0 and (row.account.floor is not None or row.id in released)
            slot = 0 if lowers_guarded else self._random.randrange(store.SLOTS)
            deltas.append(SlotDelta(row.id, slot, move, 0))
        return deltas

    def _replay_or_raise(self, request: EntryRequest, accounts: dict[str, AccountRow], error: Exception) -> Entry:
        with self.db.transaction(write=False) as tx:
            existing = store.load_entries(tx, [request.id]).get(request.id)
        if existing is not None:
            if existing.same_request(request):
                return existing
            raise EntryConflict(f"entry {request.id} was already posted with other content", param="id") from None
        raise self._translate(error, request.postings, accounts) from error

    def _translate(self, error: Exception, postings: Sequence[Posting], accounts: dict[str, AccountRow]) -> Exception:
        if not is_floor_violation(error):
            return error
        for p in postings:
            row = accounts[p.account]
            if row.account.floor is not None and normal_delta(row.account.normal_side, p.amount) < 0:
                balance = self.balance(row.code)
                if balance.available + normal_delta(row.account.normal_side, p.amount) < row.account.floor:
                    return InsufficientFunds(f"{row.code} has insufficient funds", account=row.code)
        return InsufficientFunds("an account would go below its floor")
