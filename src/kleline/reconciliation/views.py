"""Imported statements and suspense items as the API and the command line show them (JSON-ready dicts)."""

from __future__ import annotations

from typing import Any

from kleline.clock import to_rfc3339
from kleline.money import Money
from kleline.reconciliation.identity import line_content
from kleline.reconciliation.model import ImportResult, LineOutcome, StatementImport, SuspenseItem

__all__ = ["import_json", "line_json", "statement_json", "suspense_item_json"]


def _money(money: Money | None) -> int | None:
    return None if money is None else money.minor


def line_json(outcome: LineOutcome) -> dict[str, Any]:
    """One statement line and what became of it."""
    return {
        "id": outcome.id,
        "position": outcome.position,
        **line_content(outcome.line),
        "status": outcome.status.value,
        "matched": None
        if outcome.target is None or outcome.action is None
        else {"type": outcome.target.value, "id": outcome.object_id, "action": outcome.action.value},
        "entry_id": outcome.entry_id,
        "suspense_item_id": outcome.suspense_item_id,
        "reason": None if outcome.reason is None else outcome.reason.value,
        "duplicate_of": outcome.duplicate_of,
    }


def statement_json(statement: StatementImport) -> dict[str, Any]:
    """An imported statement: the bank's identifiers and balances, the counts, and its lines when loaded."""
    return {
        "id": statement.id,
        "object": "bank_statement",
        "account_iban": statement.account_iban,
        "statement_id": statement.statement_id,
        "message_id": statement.message_id,
        "currency": statement.currency,
        "created_at": to_rfc3339(statement.created_at),
        "opening_balance": _money(statement.opening_balance),
        "closing_balance": _money(statement.closing_balance),
        "imported_at": to_rfc3339(statement.imported_at),
        "status": "complete" if statement.completed_at is not None else "importing",
        "line_count": statement.line_count,
        "matched": statement.matched,
        "unmatched": statement.unmatched,
        "duplicates": statement.duplicates,
        "lines": None if statement.lines is None else [line_json(line) for line in statement.lines],
    }


def import_json(result: ImportResult) -> dict[str, Any]:
    """What importing a document did: its statements, with the totals across them."""
    return {
        "object": "bank_statement_import",
        "replayed": result.replayed,
        "matched": result.matched,
        "unmatched": result.unmatched,
        "duplicates": result.duplicates,
        "statements": [statement_json(statement) for statement in result.statements],
    }


def suspense_item_json(item: SuspenseItem) -> dict[str, Any]:
    """A suspense item: the held line, why it is held, and how it was resolved."""
    resolution = item.resolution
    return {
        "id": item.id,
        "object": "suspense_item",
        "status": item.status,
        "reason": item.reason.value,
        "detail": item.detail,
        "bank_statement_id": item.statement_id,
        "line_id": item.line_id,
        "line": line_content(item.line),
        "entry_id": item.entry_id,
        "created_at": to_rfc3339(item.created_at),
        "resolution": None
        if resolution is None
        else {
            "type": resolution.kind,
            "target": resolution.target,
            "entry_id": resolution.entry_id,
            "note": resolution.note,
            "resolved_at": to_rfc3339(resolution.resolved_at),
            "resolved_by": resolution.resolved_by,
        },
    }
