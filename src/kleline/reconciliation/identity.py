"""Identifiers derived from what a statement says, and the hash that recognises a statement imported before.

Identifiers are derived, never drawn: a statement's id from its account and the bank's statement id, a line's from
its statement and position, a suspense item's from its line. An import interrupted and run again, or run twice at
once, therefore lands on the same rows and the same ledger entry ids, and the ledger posts nothing twice.
"""

from __future__ import annotations

import hashlib
import json

from kleline.sepa.model import BankStatement, StatementLine

__all__ = ["content_hash", "line_content", "line_id", "same_booking", "statement_key", "suspense_item_id"]


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def statement_key(account_iban: str, statement_id: str) -> str:
    """Kleline's id for a bank's statement: one per account and bank statement id (``bst_`` + 32 hex)."""
    return f"bst_{_digest(account_iban, statement_id)}"


def line_id(statement: str, position: int) -> str:
    """Kleline's id for the line at ``position`` (from 0) of statement ``statement`` (``bsl_`` + 32 hex)."""
    return f"bsl_{_digest(statement, str(position))}"


def suspense_item_id(line: str) -> str:
    """The suspense item that holds line ``line`` (``si_`` + the line id's hex)."""
    return f"si_{line.removeprefix('bsl_')}"


def line_content(line: StatementLine) -> dict[str, object]:
    """Everything the bank said about a line, as plain values: what identifies a booking (and what the API shows)."""
    return {
        "entry_ref": line.entry_ref,
        "amount": line.amount.minor,
        "currency": line.amount.currency,
        "direction": line.direction.value,
        "booking_date": line.booking_date.isoformat(),
        "end_to_end_id": line.end_to_end_id,
        "return_reason": line.return_reason,
        "counterparty_name": line.counterparty_name,
        "counterparty_iban": line.counterparty_iban,
        "remittance": line.remittance,
    }


def same_booking(a: StatementLine, b: StatementLine) -> bool:
    """True when two lines describe the same booking (a bank reporting it again), not merely the same reference."""
    return line_content(a) == line_content(b)


def content_hash(statement: BankStatement) -> str:
    """A hash of what the statement says (not of its bytes): the same statement serialised differently (spacing,
    namespace prefixes, another camt.053 version) hashes the same, and any change to a line does not."""
    body = {
        "message_id": statement.message_id,
        "statement_id": statement.statement_id,
        "account_iban": statement.account_iban,
        "currency": statement.currency,
        "created_at": statement.created_at.isoformat(),
        "opening_balance": None if statement.opening_balance is None else statement.opening_balance.minor,
        "closing_balance": None if statement.closing_balance is None else statement.closing_balance.minor,
        "sequence_number": statement.sequence_number,
        "lines": [line_content(line) for line in statement.lines],
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
