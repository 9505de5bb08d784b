"""A hold's life: placed (funds reserved), then committed (posted, in full or in part), voided or expired.

These are the workings behind ``Ledger.hold``, ``hold_in``, ``get_hold``, ``commit``, ``void`` and ``expire_holds``.
A hold reserves, on slot 0 of every account its pending entry would lower, the amount it would lower it by, so that
the database's floor check counts held funds as spent. Every closing (commit, void, expiry) first moves the hold
out of *pending* with a conditional update, so that of two concurrent closings exactly one releases the reserve.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from kleline.clock import epoch_us
from kleline.db.engine import INTEGRITY_ERRORS, RawTx
from kleline.ledger import store
from kleline.ledger.books import Books
from kleline.ledger.errors import EntryConflict, HoldCommitTooLarge, HoldNotPending, InvalidEntry, UnknownHold
from kleline.ledger.model import Entry, EntryRequest, Hold, HoldRequest, HoldStatus, Metadata, Posting, normal_delta
from kleline.ledger.store import AccountRow, EntryRow, SlotDelta

__all__ = ["commit", "expire", "get", "hold", "hold_in", "void"]


def hold(books: Books, request: HoldRequest) -> Hold:
    """Place a hold in a transaction of its own; the same request again returns the first hold."""
    accounts = books.accounts.resolve_postings(request.postings)
    try:
        with books.db.transaction() as tx:
            _write(books, tx, request, accounts)
    except INTEGRITY_ERRORS as error:
        existing = _find(books, request.id)
        if existing is not None:
            if existing.same_request(request):
                return existing
            raise EntryConflict(f"hold {request.id} already exists with other content", param="id") from None
        raise books.translate(error, request.postings, accounts) from None
    return get(books, request.id)


def hold_in(books: Books, tx: RawTx, request: HoldRequest) -> None:
    """Place a hold inside the caller's transaction ``tx``; no replay (the caller's own state says what was done)."""
    accounts = books.accounts.resolve_postings(request.postings, tx=tx)
    try:
        _write(books, tx, request, accounts)
    except INTEGRITY_ERRORS as error:
        raise books.translate(error, request.postings, accounts) from None


def get(books: Books, hold_id: str) -> Hold:
    """A hold, in whatever state it is; ``UnknownHold`` if there is none."""
    found = _find(books, hold_id)
    if found is None:
        raise UnknownHold(f"no hold {hold_id}", param="hold_id")
    return found


def commit(
    books: Books,
    hold_id: str,
    *,
    postings: Sequence[Posting] | None,
    entry_id: str | None,
    description: str | None,
    metadata: Metadata | None,
) -> Entry:
    """Post a pending hold's entry (or a smaller one) and release its whole reserve, in one transaction."""
    held = get(books, hold_id)
    request = EntryRequest(
        entry_id or f"{hold_id}:commit",
        tuple(postings) if postings is not None else held.postings,
        held.description if description is None else description,
        held.metadata if metadata is None else metadata,
    )
    if held.status is HoldStatus.COMMITTED and held.entry_id == request.id:
        entry = books.entry(request.id)
        if entry.same_request(request):
            return entry
    if held.status is not HoldStatus.PENDING:
        raise HoldNotPending(f"hold {hold_id} is {held.status.value}", param="hold_id")
    if books.clock() >= held.expires_at:
        _close(books, held, HoldStatus.EXPIRED)
        raise HoldNotPending(f"hold {hold_id} has expired", param="hold_id")
    accounts = books.accounts.resolve_postings(request.postings)
    for p in request.postings:
        move = normal_delta(accounts[p.account].account.normal_side, p.amount)
        if move < 0 and -move > held.reserved.get(p.account, 0):
            raise HoldCommitTooLarge(
                f"commit takes {-move} from {p.account}, which has {held.reserved.get(p.account, 0)} held",
                param="postings",
            )
    held_accounts = books.accounts.resolve(held.reserved)
    posted_at = epoch_us(books.clock())
    row = EntryRow.of(request.id, posted_at, request.description, request.metadata, request.postings)
    try:
        with books.db.transaction() as tx:
            if store.close_hold(tx, hold_id, HoldStatus.COMMITTED.value, posted_at, request.id) is None:
                raise HoldNotPending(f"hold {hold_id} was closed meanwhile", param="hold_id")
            shard = books.shard()
            releases = {held_accounts[c].id: amount for c, amount in held.reserved.items()}
            deltas = books.deltas(request.postings, accounts, releases)
            deltas += [SlotDelta(i, 0, 0, -amount) for i, amount in releases.items()]
            legs = store.posting_rows(request.id, request.postings, accounts)
            store.post_entry(tx, row, shard, legs, deltas)
    except INTEGRITY_ERRORS as error:
        return books.replay_or_raise(request, accounts, error)
    return books.posted(request, posted_at, shard)


def void(books: Books, hold_id: str) -> Hold:
    """Release a pending hold entirely; a voided hold is returned as it is."""
    held = get(books, hold_id)
    if held.status is HoldStatus.VOIDED:
        return held
    if held.status is not HoldStatus.PENDING:
        raise HoldNotPending(f"hold {hold_id} is {held.status.value}", param="hold_id")
    return _close(books, held, HoldStatus.VOIDED)


def expire(books: Books, limit: int) -> list[str]:
    """Expire up to ``limit`` pending holds past their expiry, each in its own transaction; returns their ids."""
    with books.db.transaction(write=False) as tx:
        due = store.expired_holds(tx, epoch_us(books.clock()), limit)
    expired = []
    for hold_id in due:
        held = get(books, hold_id)
        if held.status is HoldStatus.PENDING:
            try:
                _close(books, held, HoldStatus.EXPIRED)
            except HoldNotPending:
                continue  # committed or voided by someone else meanwhile
            expired.append(hold_id)
    return expired


def _write(books: Books, tx: RawTx, request: HoldRequest, accounts: dict[str, AccountRow]) -> None:
    now = books.clock()
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


def _find(books: Books, hold_id: str) -> Hold | None:
    with books.db.transaction(write=False) as tx:
        return store.find_hold(tx, hold_id)


def _close(books: Books, held: Hold, status: HoldStatus) -> Hold:
    accounts = books.accounts.resolve(held.reserved)
    with books.db.transaction() as tx:
        if store.close_hold(tx, held.id, status.value, epoch_us(books.clock()), None) is None:
            raise HoldNotPending(f"hold {held.id} was closed meanwhile", param="hold_id")
        store.apply_deltas(tx, [SlotDelta(accounts[c].id, 0, 0, -amount) for c, amount in held.reserved.items()])
    return get(books, held.id)
