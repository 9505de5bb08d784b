"""The ledger's SQL for entries: write an entry with its postings, linked into its hash chain; read entries back.

Kept apart from balances and holds because an entry and its chain link are written together, in the chain lock
order (chain head, then entry id), whether one entry at a time (``post_entry``) or a batch on one chain
(``append_entries``); balance moves go through ``balance_store``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from kleline.clock import from_epoch_us
from kleline.db.arrays import array_literal, array_of_texts
from kleline.db.engine import RawTx
from kleline.ledger.account_store import AccountRow
from kleline.ledger.balance_store import MAX_ROWS_PER_STATEMENT, SlotDelta, among, apply_deltas, merge_deltas
from kleline.ledger.chain import GENESIS, content_hash
from kleline.ledger.model import Entry, Metadata, Posting

__all__ = [
    "ADVANCE_CHAIN",
    "INSERT_ENTRY",
    "INSERT_LINKED_ENTRY",
    "INSERT_POSTING",
    "EntryRow",
    "EntryValues",
    "PostingRow",
    "append_entries",
    "append_entry",
    "dump_metadata",
    "ensure_chains",
    "history_statement",
    "insert_postings",
    "load_entries",
    "lock_chain",
    "post_entry",
    "posting_rows",
    "running_lines",
]


@dataclass(frozen=True, slots=True)
class EntryRow:
    """An entry's columns, ready to insert."""

    id: str
    posted_at: int
    description: str
    metadata: str
    content_hash: bytes

    @classmethod
    def of(
        cls, entry_id: str, posted_at: int, description: str, metadata: Metadata, postings: Sequence[Posting]
    ) -> EntryRow:
        """The row of an entry posted at ``posted_at`` (epoch microseconds), with its content hash."""
        content = content_hash(entry_id, posted_at, description, metadata, postings)
        return cls(entry_id, posted_at, description, dump_metadata(metadata), content)


def dump_metadata(metadata: Metadata) -> str:
    """Metadata as canonical JSON text."""
    if not metadata:
        return "{}"
    return json.dumps(dict(metadata), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def ensure_chains(tx: RawTx, shards: int) -> None:
    """Create the chains ``0..shards-1`` that do not exist yet, each starting from the genesis hash."""
    existing = {row[0] for row in tx.fetchall("SELECT shard FROM ledger_chains")}
    tx.executemany(
        "INSERT INTO ledger_chains (shard, seq, head) VALUES (:shard, 0, :head)",
        [{"shard": shard, "head": GENESIS} for shard in range(shards) if shard not in existing],
    )


def posting_rows(entry_id: str, postings: Sequence[Posting], accounts: dict[str, AccountRow]) -> list[dict[str, Any]]:
    """Parameter rows for inserting an entry's postings."""
    return [
        {
            "entry_id": entry_id,
            "line": line,
            "account_id": accounts[p.account].id,
            "currency": p.currency,
            "amount": p.amount,
        }
        for line, p in enumerate(postings)
    ]


INSERT_POSTING = (
    "INSERT INTO ledger_postings (entry_id, line, account_id, currency, amount) "
    "VALUES (:entry_id, :line, :account_id, :currency, :amount)"
)
ADVANCE_CHAIN = "UPDATE ledger_chains SET seq = seq + 1, head = kleline_link(head, :content_hash) WHERE shard = :shard"
INSERT_LINKED_ENTRY = (
    "INSERT INTO ledger_entries "
    "(id, posted_at, description, metadata, content_hash, chain_shard, chain_seq, link_hash) "
    "SELECT :id, :posted_at, :description, :metadata, :content_hash, shard, seq, head "
    "FROM ledger_chains WHERE shard = :shard"
)


@functools.lru_cache(maxsize=16)
def insert_postings(count: int) -> str:
    """The insert of ``count`` postings in one statement (positional parameters, five per posting in
    ``INSERT_POSTING_ROW``'s order): SQLite steps it once, where ``executemany`` steps once per posting, each step
    taken while the process holds the database's only write lock and giving the interpreter's lock up."""
    rows = ", ".join(["(?, ?, ?, ?, ?)"] * count)
    return f"INSERT INTO ledger_postings (entry_id, line, account_id, currency, amount) VALUES {rows}"


def append_entry(tx: RawTx, entry: EntryRow, shard: int, postings: list[dict[str, Any]]) -> None:
    """Link one entry into chain ``shard`` (computed by the database) and write it with its postings (one
    statement for all of them)."""
    tx.execute(ADVANCE_CHAIN, {"content_hash": entry.content_hash, "shard": shard})
    if len(postings) > MAX_ROWS_PER_STATEMENT:
        tx.executemany(INSERT_POSTING, postings)
    else:
        tx.execute(
            insert_postings(len(postings)),
            [v for p in postings for v in (p["entry_id"], p["line"], p["account_id"], p["currency"], p["amount"])],
        )
    tx.execute(INSERT_LINKED_ENTRY, _entry_params(entry, shard))


def _entry_params(entry: EntryRow, shard: int) -> dict[str, Any]:
    return {
        "id": entry.id,
        "posted_at": entry.posted_at,
        "description": entry.description,
        "metadata": entry.metadata,
        "content_hash": entry.content_hash,
        "shard": shard,
    }


def post_entry(
    tx: RawTx, entry: EntryRow, shard: int, postings: list[dict[str, Any]], deltas: Iterable[SlotDelta]
) -> None:
    """Write one entry and move the balances: on PostgreSQL in one statement (``kleline_post_entry``, the same
    statements server-side), elsewhere statement by statement."""
    if not tx.is_postgres:
        append_entry(tx, entry, shard, postings)
        apply_deltas(tx, deltas)
        return
    moves = merge_deltas(deltas)
    # Arrays travel as text literals (ints and currency codes need no quoting): adapting Python lists costs the
    # client more than the server spends parsing them.
    tx.execute(
        "SELECT kleline_post_entry(:id, :posted_at, :description, :metadata, :content_hash, :shard, "
        "CAST(:account_ids AS integer[]), CAST(:currencies AS text[]), CAST(:amounts AS bigint[]), "
        "CAST(:move_accounts AS integer[]), CAST(:move_slots AS integer[]), CAST(:move_balances AS bigint[]), "
        "CAST(:move_helds AS bigint[]))",
        {
            **_entry_params(entry, shard),
            "account_ids": array_literal(p["account_id"] for p in postings),
            "currencies": array_literal(p["currency"] for p in postings),
            "amounts": array_literal(p["amount"] for p in postings),
            "move_accounts": array_literal(m.account_id for m in moves),
            "move_slots": array_literal(m.slot for m in moves),
            "move_balances": array_literal(m.balance for m in moves),
            "move_helds": array_literal(m.held for m in moves),
        },
    )


def lock_chain(tx: RawTx, shard: int, *, for_update: bool) -> tuple[int, bytes]:
    """(seq, head) of chain ``shard``, locked on PostgreSQL until the transaction ends."""
    suffix = " FOR UPDATE" if for_update else ""
    row = tx.fetchone(f"SELECT seq, head FROM ledger_chains WHERE shard = :shard{suffix}", {"shard": shard})
    return int(row[0]), bytes(row[1])


INSERT_ENTRY = (
    "INSERT INTO ledger_entries "
    "(id, posted_at, description, metadata, content_hash, chain_shard, chain_seq, link_hash) "
    "VALUES (:id, :posted_at, :description, :metadata, :content_hash, :shard, :seq, :link)"
)


INSERT_POSTING_ROW = "INSERT INTO ledger_postings (entry_id, line, account_id, currency, amount) VALUES (?, ?, ?, ?, ?)"
INSERT_ENTRY_ROW = (
    "INSERT INTO ledger_entries "
    "(id, posted_at, description, metadata, content_hash, chain_shard, chain_seq, link_hash) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)

PostingRow = tuple[str, int, int, str, int]
"""A posting ready to write: (entry id, line, account id, currency, amount)."""

EntryValues = tuple[str, int, str, str, bytes, int, int, bytes]
"""An entry ready to write, already linked: (id, posted at, description, metadata, content hash, chain shard,
chain seq, link hash), the columns of ``INSERT_ENTRY_ROW`` in order."""


def append_entries(tx: RawTx, shard: int, entries: list[EntryValues], postings: list[PostingRow]) -> None:
    """Write many entries, already linked into chain ``shard``, with their postings, then move the chain's head.

    PostgreSQL: one statement (``_APPEND_ENTRIES``) writes the postings, the entries and the chain's head, so that
    the database's statement-level guards (``ledger_postings_accounts``, ``ledger_postings_closed``,
    ``ledger_entries_balanced``) run once for the whole batch over their transition tables, find every posting's
    entry already written (nothing left to check at commit), and the batch's rows travel in one round trip.
    SQLite: ``executemany`` with positional parameters, stepped in-process (its guards are row triggers, cheap
    index probes)."""
    last_seq, last_link = entries[-1][6:8]
    if tx.is_postgres:
        tx.execute(
            _APPEND_ENTRIES,
            {
                "entry_ids": array_of_texts(e for e, _, _, _, _ in postings),
                "lines": array_literal(line for _, line, _, _, _ in postings),
                "account_ids": array_literal(account for _, _, account, _, _ in postings),
                "currencies": array_literal(currency for _, _, _, currency, _ in postings),
                "amounts": array_literal(amount for _, _, _, _, amount in postings),
                "ids": array_of_texts(entry[0] for entry in entries),
                "posted_at": entries[0][1],
                "descriptions": array_of_texts(entry[2] for entry in entries),
                "metadata": array_of_texts(entry[3] for entry in entries),
                "hashes": array_literal(entry[4].hex() for entry in entries),
                "links": array_literal(entry[7].hex() for entry in entries),
                "seqs": array_literal(entry[6] for entry in entries),
                "shard": shard,
                "seq": last_seq,
                "head": last_link,
            },
        )
        return
    tx.executemany(INSERT_POSTING_ROW, postings)
    tx.executemany(INSERT_ENTRY_ROW, entries)
    tx.execute(
        "UPDATE ledger_chains SET seq = :seq, head = :head WHERE shard = :shard",
        {"seq": last_seq, "head": last_link, "shard": shard},
    )


# Arrays travel as text literals (``kleline.db.arrays``); a batch's entries share one posting time.
_APPEND_ENTRIES = (
    "WITH added AS ("
    " INSERT INTO ledger_postings (entry_id, line, account_id, currency, amount)"
    " SELECT * FROM unnest(CAST(:entry_ids AS text[]), CAST(:lines AS smallint[]), CAST(:account_ids AS integer[]),"
    " CAST(:currencies AS text[]), CAST(:amounts AS bigint[]))"
    "), head AS (UPDATE ledger_chains SET seq = :seq, head = :head WHERE shard = :shard) "
    "INSERT INTO ledger_entries"
    " (id, posted_at, description, metadata, content_hash, chain_shard, chain_seq, link_hash)"
    " SELECT u.id, :posted_at, u.description, u.metadata, decode(u.hash, 'hex'), :shard, u.seq, decode(u.link, 'hex')"
    " FROM unnest(CAST(:ids AS text[]), CAST(:descriptions AS text[]), CAST(:metadata AS text[]),"
    " CAST(:hashes AS text[]), CAST(:seqs AS bigint[]), CAST(:links AS text[])) AS u(id, description, metadata, hash,"
    " seq, link)"
)


_ENTRY_COLUMNS = "e.id, e.posted_at, e.description, e.metadata, e.chain_shard, e.chain_seq, e.link_hash"


def load_entries(tx: RawTx, entry_ids: Sequence[str]) -> dict[str, Entry]:
    """The stored entries among ``entry_ids``, by id, with their postings in line order."""
    if not entry_ids:
        return {}
    condition, params = among("e.id", entry_ids, tx.is_postgres)
    rows = tx.fetchall(
        f"SELECT {_ENTRY_COLUMNS}, a.code, p.amount, p.currency FROM ledger_entries e "
        "JOIN ledger_postings p ON p.entry_id = e.id JOIN ledger_accounts a ON a.id = p.account_id "
        f"WHERE {condition} ORDER BY e.id, p.line",
        params,
    )
    found: dict[str, tuple[tuple[Any, ...], list[Posting]]] = {}
    for row in rows:
        _, legs = found.setdefault(row[0], (tuple(row[:7]), []))
        legs.append(Posting(row[7], int(row[8]), row[9]))
    return {
        entry_id: Entry(
            entry_id,
            from_epoch_us(int(posted_at)),
            tuple(legs),
            description,
            json.loads(metadata),
            int(shard),
            int(seq),
            bytes(link),
        )
        for entry_id, ((_, posted_at, description, metadata, shard, seq, link), legs) in found.items()
    }


def history_statement(
    account_id: int,
    limit: int,
    before: int | None,
    since: int | None = None,
    until: int | None = None,
) -> tuple[str, dict[str, object]]:
    """The statement of a page of an account's postings, newest first, and its parameters (named ``history_...``,
    so that a caller may run it inside a statement of its own): ``id, entry_id, amount, posted_at, description,
    metadata, newest``, where ``newest`` is the running sum of the account's postings up to the page's newest one
    (``running_lines`` turns it into each line's); only those posted in [``since``, ``until``) (epoch
    microseconds) when given."""
    where = [
        condition
        for condition, value in (
            ("p.id < :history_before", before),
            ("e.posted_at >= :history_since", since),
            ("e.posted_at < :history_until", until),
        )
        if value is not None
    ]
    # One statement (one snapshot): the page's postings joined to their entries, and the running sum at the newest
    # of them (a sum over the account's postings index); each older line's follows by subtracting, so that neither
    # the join nor a window runs over the account's whole history.
    sql = (
        "WITH history_page AS ("
        "  SELECT p.id, p.entry_id, p.amount, e.posted_at, e.description, e.metadata"
        "  FROM ledger_postings p JOIN ledger_entries e ON e.id = p.entry_id"
        f"  WHERE p.account_id = :history_account{''.join(' AND ' + condition for condition in where)}"
        "  ORDER BY p.id DESC LIMIT :history_limit"
        ") SELECT id, entry_id, amount, posted_at, description, metadata,"
        "  (SELECT COALESCE(SUM(q.amount), 0) FROM ledger_postings q"
        "   WHERE q.account_id = :history_account AND q.id <= (SELECT MAX(id) FROM history_page)) AS newest"
        " FROM history_page ORDER BY id DESC"
    )
    params: dict[str, object] = {"history_account": account_id, "history_limit": limit}
    for name, value in (("history_before", before), ("history_since", since), ("history_until", until)):
        if value is not None:
            params[name] = value
    return sql, params


def running_lines(rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """The rows of ``history_statement`` (newest first) as (posting id, entry id, amount, posted at, description,
    running sum after it, metadata)."""
    lines: list[tuple[Any, ...]] = []
    running = int(rows[0][6]) if rows else 0
    for posting_id, entry_id, amount, posted_at, description, metadata, _ in rows:
        lines.append((posting_id, entry_id, amount, posted_at, description, running, metadata))
        running -= int(amount)
    return lines
