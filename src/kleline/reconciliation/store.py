"""Imported statements', their lines' and suspense items' SQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from kleline.clock import epoch_us, from_epoch_us
from kleline.db.engine import RawTx
from kleline.money import Money
from kleline.reconciliation.model import (
    Action,
    LineOutcome,
    LineStatus,
    StatementImport,
    SuspenseReason,
    Target,
)
from kleline.sepa.model import BankStatement, Direction, StatementLine

__all__ = [
    "LINE_COLUMNS",
    "StatementHeader",
    "complete_statement",
    "insert_line",
    "insert_statement",
    "line_recorded",
    "list_statements",
    "load_statement",
    "lock_statement",
    "original_line",
    "reconciled",
    "statement_line",
    "statement_header",
]


@dataclass(frozen=True, slots=True)
class StatementHeader:
    """What an import needs to know of a statement already recorded."""

    id: str
    content_hash: str
    completed: bool


def insert_statement(tx: RawTx, key: str, statement: BankStatement, content_hash: str, imported_at: int) -> None:
    """Record a statement whose import begins."""
    tx.execute(
        "INSERT INTO bank_statements (id, account_iban, statement_id, message_id, currency, content_hash, "
        "created_at, opening_balance, closing_balance, line_count, imported_at) VALUES (:id, :iban, :statement, "
        ":message, :currency, :hash, :created, :opening, :closing, :count, :at)",
        {
            "id": key,
            "iban": statement.account_iban,
            "statement": statement.statement_id,
            "message": statement.message_id,
            "currency": statement.currency,
            "hash": content_hash,
            "created": epoch_us(statement.created_at),
            "opening": None if statement.opening_balance is None else statement.opening_balance.minor,
            "closing": None if statement.closing_balance is None else statement.closing_balance.minor,
            "count": len(statement.lines),
            "at": imported_at,
        },
    )


def statement_header(tx: RawTx, key: str) -> StatementHeader | None:
    """The recorded statement with this id, if any."""
    row = tx.fetchone("SELECT id, content_hash, completed_at FROM bank_statements WHERE id = :id", {"id": key})
    return None if row is None else StatementHeader(row[0], row[1], row[2] is not None)


def complete_statement(tx: RawTx, key: str, at: int) -> None:
    """Mark a statement's import finished (every line recorded)."""
    tx.execute(
        "UPDATE bank_statements SET completed_at = :at WHERE id = :id AND completed_at IS NULL", {"id": key, "at": at}
    )


def lock_statement(tx: RawTx, key: str) -> None:
    """Take the statement's row lock (PostgreSQL; an SQLite write transaction is exclusive already), so that two
    imports of the same statement record its lines one after the other."""
    if tx.is_postgres:
        tx.execute("SELECT id FROM bank_statements WHERE id = :id FOR UPDATE", {"id": key})


def line_recorded(tx: RawTx, line_id: str) -> bool:
    """True when the line was recorded already (by an earlier or a concurrent import of its statement)."""
    return tx.fetchone("SELECT 1 FROM bank_statement_lines WHERE id = :id", {"id": line_id}) is not None


LINE_COLUMNS = (
    "id, position, entry_ref, amount, currency, direction, booking_date, end_to_end_id, return_reason, "
    "counterparty_name, counterparty_iban, remittance, status, target, action, object_id, entry_id, reason, "
    "duplicate_of"
)


def insert_line(tx: RawTx, statement_key: str, account_iban: str, outcome: LineOutcome, created_at: int) -> None:
    """Record a statement line and what became of it."""
    line = outcome.line
    tx.execute(
        f"INSERT INTO bank_statement_lines (statement_id, account_iban, created_at, {LINE_COLUMNS}) VALUES ("
        ":statement, :iban, :at, :id, :position, :ref, :amount, :currency, :direction, :booked, :e2e, :reason_code, "
        ":name, :counterparty_iban, :remittance, :status, :target, :action, :object, :entry, :reason, :duplicate_of)",
        {
            "statement": statement_key,
            "iban": account_iban,
            "at": created_at,
            "id": outcome.id,
            "position": outcome.position,
            "ref": line.entry_ref,
            "amount": line.amount.minor,
            "currency": line.amount.currency,
            "direction": line.direction.value,
            "booked": line.booking_date.isoformat(),
            "e2e": line.end_to_end_id,
            "reason_code": line.return_reason,
            "name": line.counterparty_name,
            "counterparty_iban": line.counterparty_iban,
            "remittance": line.remittance,
            "status": outcome.status.value,
            "target": None if outcome.target is None else outcome.target.value,
            "action": None if outcome.action is None else outcome.action.value,
            "object": outcome.object_id,
            "entry": outcome.entry_id,
            "reason": None if outcome.reason is None else outcome.reason.value,
            "duplicate_of": outcome.duplicate_of,
        },
    )


def statement_line(row: Sequence[Any]) -> StatementLine:
    """A line as recorded, from a row of ``LINE_COLUMNS``."""
    return StatementLine(
        entry_ref=row[2],
        amount=Money(int(row[3]), row[4]),
        direction=Direction(row[5]),
        booking_date=date.fromisoformat(row[6]),
        end_to_end_id=row[7],
        return_reason=row[8],
        counterparty_name=row[9],
        counterparty_iban=row[10],
        remittance=row[11],
    )


def _outcome(row: Sequence[Any], suspense_item: str | None) -> LineOutcome:
    return LineOutcome(
        id=row[0],
        position=int(row[1]),
        line=statement_line(row),
        status=LineStatus(row[12]),
        target=None if row[13] is None else Target(row[13]),
        action=None if row[14] is None else Action(row[14]),
        object_id=row[15],
        entry_id=row[16],
        suspense_item_id=suspense_item,
        reason=None if row[17] is None else SuspenseReason(row[17]),
        duplicate_of=row[18],
    )


def original_line(tx: RawTx, account_iban: str, entry_ref: str) -> tuple[str, StatementLine] | None:
    """The first line recorded with this entry reference on this account: its id and content."""
    row = tx.fetchone(
        f"SELECT {LINE_COLUMNS} FROM bank_statement_lines WHERE account_iban = :iban AND entry_ref = :ref "
        "AND duplicate_of IS NULL",
        {"iban": account_iban, "ref": entry_ref},
    )
    return None if row is None else (row[0], statement_line(row))


def reconciled(tx: RawTx, object_id: str, action: Action) -> bool:
    """True when a line, or an operator's resolution, already did ``action`` to the object."""
    row = tx.fetchone(
        "SELECT 1 FROM bank_statement_lines WHERE object_id = :id AND action = :action AND status = 'matched' "
        "UNION ALL SELECT 1 FROM suspense_items WHERE resolution_target = :id AND resolution_action = :action",
        {"id": object_id, "action": action.value},
    )
    return row is not None


_STATEMENT_COLUMNS = (
    "s.id, s.account_iban, s.statement_id, s.message_id, s.currency, s.created_at, s.opening_balance, "
    "s.closing_balance, s.imported_at, s.completed_at, s.line_count, "
    "(SELECT COUNT(*) FROM bank_statement_lines l WHERE l.statement_id = s.id AND l.status = 'matched'), "
    "(SELECT COUNT(*) FROM bank_statement_lines l WHERE l.statement_id = s.id AND l.status = 'suspense'), "
    "(SELECT COUNT(*) FROM bank_statement_lines l WHERE l.statement_id = s.id AND l.status = 'duplicate')"
)


def _optional_money(value: Any, currency: str) -> Money | None:
    return None if value is None else Money(int(value), currency)


def _optional_time(value: Any) -> datetime | None:
    return None if value is None else from_epoch_us(int(value))


def _statement(row: Sequence[Any], lines: tuple[LineOutcome, ...] | None) -> StatementImport:
    return StatementImport(
        id=row[0],
        account_iban=row[1],
        statement_id=row[2],
        message_id=row[3],
        currency=row[4],
        created_at=from_epoch_us(int(row[5])),
        opening_balance=_optional_money(row[6], row[4]),
        closing_balance=_optional_money(row[7], row[4]),
        imported_at=from_epoch_us(int(row[8])),
        completed_at=_optional_time(row[9]),
        line_count=int(row[10]),
        matched=int(row[11]),
        unmatched=int(row[12]),
        duplicates=int(row[13]),
        lines=lines,
    )


def load_statement(tx: RawTx, key: str) -> StatementImport | None:
    """An imported statement with each line's outcome."""
    row = tx.fetchone(f"SELECT {_STATEMENT_COLUMNS} FROM bank_statements s WHERE s.id = :id", {"id": key})
    if row is None:
        return None
    lines = tx.fetchall(
        f"SELECT {', '.join('l.' + c.strip() for c in LINE_COLUMNS.split(','))}, i.id FROM bank_statement_lines l "
        "LEFT JOIN suspense_items i ON i.line_id = l.id WHERE l.statement_id = :id ORDER BY l.position",
        {"id": key},
    )
    return _statement(row, tuple(_outcome(line, line[19]) for line in lines))


def list_statements(tx: RawTx, *, limit: int, after: str | None) -> list[StatementImport]:
    """Imported statements, newest import first, after the ``after`` id; without their lines."""
    params: dict[str, object] = {"limit": limit}
    clause = ""
    if after is not None:
        clause = (
            "WHERE (s.imported_at < (SELECT imported_at FROM bank_statements WHERE id = :after) OR "
            "(s.imported_at = (SELECT imported_at FROM bank_statements WHERE id = :after) AND s.id < :after))"
        )
        params["after"] = after
    rows = tx.fetchall(
        f"SELECT {_STATEMENT_COLUMNS} FROM bank_statements s {clause} ORDER BY s.imported_at DESC, s.id DESC "
        "LIMIT :limit",
        params,
    )
    return [_statement(row, None) for row in rows]
