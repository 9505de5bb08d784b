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
from datetime import UTC, datetime
from typing import Any

from kleline.clock import Clock, system_clock
from kleline.db.engine import INTEGRITY_ERRORS, Database, RawTx, is_floor_violation
from kleline.ledger import store
from kleline.ledger.chain import content_hash, link
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

__all__ = ["HistoryLine", "Ledger", "from_us", "to_us"]

BATCH_ATTEMPTS = 5


def to_us(moment: datetime) -> int:
    """A timezone-aware datetime as integer microseconds since the Unix epoch (how the ledger stores time)."""
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(value: int) -> datetime:
    """The inverse of ``to_us``."""
    return datetime.fromtimestamp(value // 1_000_000, UTC).replace(microsecond=value % 1_000_000)


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
        self._accounts: dict[str, AccountRow] = {}
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
                row = store.insert_account(tx, account, to_us(self._clock()))
        except INTEGRITY_ERRORS:
            existing = self._load_account(code)
            if existing is None:
                raise
            row = existing
        if row.account != account:
            raise AccountConflict(f"account {code} exists with other attributes: {row.account}", param="code")
        self._accounts[code] = row
        return account

    def account(self, code: str) -> Account:
        """The account with ``code``."""
        return self._resolve([code])[code].account

    def accounts(self) -> list[Account]:
        """Every account, by code."""
        with self.db.transaction(write=False) as tx:
            return [row.account for row in store.list_accounts(tx)]

    def balance(self, code: str) -> Balance:
        """Posted, held and available balances of an account, on its normal side."""
        row = self._resolve([code])[code]
        with self.db.transaction(write=False) as tx:
            posted, held = store.read_balance(tx, row.id)
        return Balance(code, row.account.currency, posted, held, row.account.floor)

    def history(self, code: str, *, limit: int = 50, before: int | None = None) -> list[HistoryLine]:
        """An account's movements, newest first, each with the balance after it."""
        row = self._resolve([code])[code]
        side = row.account.normal_side
        with self.db.transaction(write=False) as tx:
            lines = store.history(tx, row.id, limit, before)
        return [
            HistoryLine(
                int(seq), entry_id, from_us(int(at)), normal_delta(side, int(amount)), normal_delta(side, int(run)), d
            )
            for seq, entry_id, amount, at, d, run in lines
        ]

    # --- entries ----------------------------------------------------------------------------------------------

    def post(self, request: EntryRequest) -> Entry:
        """Post one balanced entry, atomically; a floored account that would go below its floor refuses it."""
        accounts = self._resolve_postings(request.postings)
        posted_at = to_us(self._clock())
        row = self._entry_row(request.id, posted_at, request.description, request.metadata, request.postings)
        shard = self._random.randrange(self._shards)
        try:
            with self.db.transaction() as tx:
                store.append_entry(tx, row, shard, store.posting_rows(request.id, request.postings, accounts))
                store.apply_deltas(tx, self._deltas(request.postings, accounts, {}))
        except INTEGRITY_ERRORS as error:
            return self._replay_or_raise(request, accounts, error)
        return self._posted(request, posted_at, shard)

    def entry(self, entry_id: str) -> Entry:
        """A posted entry."""
        with self.db.transaction(write=False) as tx:
            found = self._entries(tx, [entry_id])
        if entry_id not in found:
            raise InvalidEntry(f"no entry {entry_id}", param="id")
        return found[entry_id]

    def post_batch(self, requests: Sequence[EntryRequest]) -> list[BatchResult]:
        """Post many entries in one transaction; each is accepted or refused on its own, in order."""
        results: list[BatchResult | None] = [None] * len(requests)
        candidates: list[tuple[int, EntryRequest, dict[str, AccountRow]]] = []
        first_by_id: dict[str, EntryRequest] = {}
        for index, request in enumerate(requests):
            try:
                earlier = first_by_id.setdefault(request.id, request)
                if earlier is not request and earlier != request:
                    raise EntryConflict(f"entry id {request.id} appears twice in the batch with other content")
                candidates.append((index, request, self._resolve_postings(request.postings)))
            except (EntryConflict, UnknownAccount, CurrencyMismatch) as error:
                results[index] = BatchResult(request.id, error=error)
        for attempt in range(BATCH_ATTEMPTS):
            try:
                self._try_batch(candidates, results)
                break
            except INTEGRITY_ERRORS:
                # A concurrent writer spent a floored account or posted one of our ids between our read and our
                # write; the database refused the whole batch, so nothing is half-done. Read again and retry.
                if attempt == BATCH_ATTEMPTS - 1:
                    raise
        return [r if r is not None else BatchResult("", error=RuntimeError("unreachable")) for r in results]

    def _try_batch(
        self,
        candidates: list[tuple[int, EntryRequest, dict[str, AccountRow]]],
        results: list[BatchResult | None],
    ) -> None:
        posted_at = to_us(self._clock())
        shard = self._random.randrange(self._shards)
        with self.db.transaction() as tx:
            seq, head = store.lock_chain(tx, shard, for_update=self.db.is_postgres)
            existing = self._entries(tx, [request.id for _, request, _ in candidates])
            floored = {
                row.id: row
                for _, _, accounts in candidates
                for row in accounts.values()
                if row.account.floor is not None
            }
            available = {
                account_id: posted - held
                for account_id, (posted, held) in store.lock_balances(tx, list(floored), for_update=False).items()
            }
            outcome: dict[int, BatchResult] = {}
            rows: list[tuple[EntryRow, int, bytes]] = []
            postings: list[dict[str, Any]] = []
            totals: dict[int, int] = {}
            seen: dict[str, Entry | None] = {}
            for index, request, accounts in candidates:
                if request.id in existing or request.id in seen:
                    entry = existing.get(request.id) or seen[request.id]
                    if entry is not None and entry.same_request(request):
                        outcome[index] = BatchResult(request.id, entry=entry)
                    else:
                        error = EntryConflict(f"entry {request.id} was already posted with other content")
                        outcome[index] = BatchResult(request.id, error=error)
                    continue
                moves = {
                    row.id: normal_delta(row.account.normal_side, p.amount)
                    for p in request.postings
                    for row in (accounts[p.account],)
                }
                short = next(
                    (
                        accounts[p.account]
                        for p in request.postings
                        if accounts[p.account].id in floored
                        and available[accounts[p.account].id] + moves[accounts[p.account].id]
                        < (accounts[p.account].account.floor or 0)
                    ),
                    None,
                )
                if short is not None:
                    shortfall = InsufficientFunds(f"{short.code} has insufficient funds", account=short.code)
                    outcome[index] = BatchResult(request.id, error=shortfall)
                    continue
                for account_id, move in moves.items():
                    if account_id in available:
                        available[account_id] += move
                    totals[account_id] = totals.get(account_id, 0) + move
                row = self._entry_row(request.id, posted_at, request.description, request.metadata, request.postings)
                seq += 1
                head = link(head, row.content_hash)
                rows.append((row, seq, head))
                postings.extend(store.posting_rows(request.id, request.postings, accounts))
                entry = Entry(
                    request.id,
                    from_us(posted_at),
                    request.postings,
                    request.description,
                    request.metadata,
                    shard,
                    seq,
                    head,
                )
                seen[request.id] = entry
                outcome[index] = BatchResult(request.id, entry=entry)
            if rows:
                store.append_entries(tx, shard, rows, postings)
                store.apply_deltas(
                    tx,
                    [
                        SlotDelta(
                            account_id, 0 if account_id in floored else self._random.randrange(store.SLOTS), move, 0
                        )
                        for account_id, move in totals.items()
                        if move
                    ],
                )
        for index, result in outcome.items():
            results[index] = result

    # --- holds ------------------------------------------------------------------------------------------------

    def hold(self, request: HoldRequest) -> Hold:
        """Reserve funds on every account the pending entry would lower, until commit, void or expiry."""
        accounts = self._resolve_postings(request.postings)
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
            "created_at": to_us(now),
            "expires_at": to_us(request.expires_at),
            "description": request.description,
            "metadata": store.dump_metadata(request.metadata),
            "postings": _dump_postings(request.postings),
            "reserved": json.dumps(reserved, sort_keys=True),
        }
        try:
            with self.db.transaction() as tx:
                store.insert_hold(tx, row)
                store.apply_deltas(tx, [SlotDelta(accounts[c].id, 0, 0, amount) for c, amount in reserved.items()])
        except INTEGRITY_ERRORS as error:
            existing = self._find_hold(request.id)
            if existing is not None:
                if existing.same_request(request):
                    return existing
                raise EntryConflict(f"hold {request.id} already exists with other content", param="id") from None
            raise self._translate(error, request.postings, accounts) from None
        return self.get_hold(request.id)

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
        accounts = self._resolve_postings(request.postings)
        for p in request.postings:
            move = normal_delta(accounts[p.account].account.normal_side, p.amount)
            if move < 0 and -move > hold.reserved.get(p.account, 0):
                raise HoldCommitTooLarge(
                    f"commit takes {-move} from {p.account}, which has {hold.reserved.get(p.account, 0)} held",
                    param="postings",
                )
        held_accounts = self._resolve(hold.reserved)
        posted_at = to_us(self._clock())
        row = self._entry_row(request.id, posted_at, request.description, request.metadata, request.postings)
        try:
            with self.db.transaction() as tx:
                if store.close_hold(tx, hold_id, HoldStatus.COMMITTED.value, posted_at, request.id) is None:
                    raise HoldNotPending(f"hold {hold_id} was closed meanwhile", param="hold_id")
                shard = self._random.randrange(self._shards)
                store.append_entry(tx, row, shard, store.posting_rows(request.id, request.postings, accounts))
                releases = {held_accounts[c].id: amount for c, amount in hold.reserved.items()}
                deltas = self._deltas(request.postings, accounts, releases)
                deltas += [SlotDelta(i, 0, 0, -amount) for i, amount in releases.items()]
                store.apply_deltas(tx, deltas)
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
            due = store.expired_holds(tx, to_us(self._clock()), limit)
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
        accounts = self._resolve(hold.reserved)
        with self.db.transaction() as tx:
            if store.close_hold(tx, hold.id, status.value, to_us(self._clock()), None) is None:
                raise HoldNotPending(f"hold {hold.id} was closed meanwhile", param="hold_id")
            store.apply_deltas(tx, [SlotDelta(accounts[c].id, 0, 0, -amount) for c, amount in hold.reserved.items()])
        return self.get_hold(hold.id)

    # --- helpers ----------------------------------------------------------------------------------------------

    @staticmethod
    def _posted(request: EntryRequest, posted_at: int, shard: int) -> Entry:
        # The database computed the chain link; reading it back would cost a round trip nobody needs here.
        return Entry(
            request.id, from_us(posted_at), request.postings, request.description, request.metadata, shard, None, None
        )

    def _find_hold(self, hold_id: str) -> Hold | None:
        with self.db.transaction(write=False) as tx:
            row = store.find_hold(tx, hold_id)
        if row is None:
            return None
        hold_id, status, postings, reserved, created, expires, description, metadata, entry_id = row
        return Hold(
            hold_id,
            HoldStatus(status),
            tuple(Posting(a, int(m), c) for a, m, c in json.loads(postings)),
            json.loads(reserved),
            from_us(int(created)),
            from_us(int(expires)),
            description,
            json.loads(metadata),
            entry_id,
        )

    def _entries(self, tx: RawTx, entry_ids: Sequence[str]) -> dict[str, Entry]:
        return {
            entry_id: Entry(
                entry_id,
                from_us(int(cols[1])),
                tuple(legs),
                cols[2],
                json.loads(cols[3]),
                int(cols[4]),
                int(cols[5]),
                bytes(cols[6]),
            )
            for entry_id, (cols, legs) in store.load_entries(tx, entry_ids).items()
        }

    @staticmethod
    def _entry_row(
        entry_id: str, posted_at: int, description: str, metadata: Metadata, postings: Sequence[Posting]
    ) -> EntryRow:
        return EntryRow(
            entry_id,
            posted_at,
            description,
            store.dump_metadata(metadata),
            content_hash(entry_id, posted_at, description, metadata, postings),
        )

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
            existing = self._entries(tx, [request.id]).get(request.id)
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

    def _resolve_postings(self, postings: Sequence[Posting]) -> dict[str, AccountRow]:
        accounts = self._resolve([p.account for p in postings])
        for p in postings:
            if accounts[p.account].account.currency != p.currency:
                raise CurrencyMismatch(
                    f"posting in {p.currency} to {p.account}, which is in {accounts[p.account].account.currency}",
                    param="currency",
                )
        return accounts

    def _resolve(self, codes: Iterable[str]) -> dict[str, AccountRow]:
        codes = list(codes)
        found = {code: self._accounts[code] for code in codes if code in self._accounts}
        missing = [code for code in codes if code not in found]
        if missing:
            with self.db.transaction(write=False) as tx:
                loaded = store.find_accounts(tx, missing)
            self._accounts.update(loaded)
            found.update(loaded)
            unknown = [code for code in missing if code not in loaded]
            if unknown:
                raise UnknownAccount(f"no account {unknown[0]}", param="account")
        return found

    def _load_account(self, code: str) -> AccountRow | None:
        with self.db.transaction(write=False) as tx:
            return store.find_account(tx, code)


def _dump_postings(postings: Sequence[Posting]) -> str:
    return json.dumps([[p.account, p.amount, p.currency] for p in postings], separators=(",", ":"))
