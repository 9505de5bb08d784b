"""Account statements of the simulated banks, as camt.053 documents.

Closing a period states everything booked on an account (in one currency) since its previous statement: the
opening balance is the previous statement's closing balance (the account's opening balance for the first one), the
lines are in booking order, the closing balance is the balance now, and opening + lines = closing or no statement
is issued. Statements are numbered 1, 2, 3... per account and currency (``ElctrncSeqNb``); their identifiers derive
from that number, their time from the request that closed the period, so the same history gives the same bytes
(and a replayed journal reissues byte-identical statements). An issued statement can be read again at any time.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from kleline.banksim.books import Account, Books
from kleline.banksim.errors import UnknownStatement
from kleline.sepa import BankStatement, write_statement

__all__ = ["IssuedStatement", "Statements"]


@dataclass(frozen=True, slots=True)
class IssuedStatement:
    """A statement the bank issued: its number for the account, its content, and the camt.053 bytes."""

    sequence: int
    statement: BankStatement
    xml: bytes


class Statements:
    """Issues and keeps every account's statements; called under the simulator's lock."""

    def __init__(self, books: Books) -> None:
        self._books = books
        self._issued: dict[tuple[str, str], list[IssuedStatement]] = {}

    def close_period(self, account: Account, currency: str, at: datetime) -> IssuedStatement:
        """State what was booked on ``account`` in ``currency`` since its last statement, and start a new period."""
        period = self._books.period(account, currency)
        issued = self._issued.setdefault((account.iban, currency), [])
        sequence = len(issued) + 1
        account_key = hashlib.sha256(account.iban.encode()).hexdigest()[:8].upper()
        statement = BankStatement(
            message_id=f"KLSIM-{account_key}-{currency}-{sequence:06d}",
            statement_id=f"STMT-{currency}-{sequence:06d}",
            account_iban=account.iban,
            currency=currency,
            created_at=at,
            opening_balance=period.opening,
            closing_balance=period.closing,
            lines=period.lines,
            sequence_number=sequence,
        )
        # Written before the period ends: a statement that cannot be written leaves its lines for the next attempt.
        xml = write_statement(statement)
        self._books.end_period(account, period)
        issued.append(IssuedStatement(sequence, statement, xml))
        return issued[-1]

    def get(self, iban: str, currency: str, sequence: int) -> IssuedStatement:
        """Statement number ``sequence`` of ``iban`` in ``currency``, as it was issued."""
        issued = self._issued.get((iban, currency), [])
        if not 1 <= sequence <= len(issued):
            raise UnknownStatement(
                f"{iban} has {len(issued)} statement(s) in {currency}, not a number {sequence}", param="sequence"
            )
        return issued[sequence - 1]

    def count(self, iban: str, currency: str) -> int:
        """How many statements ``iban`` has had in ``currency``."""
        return len(self._issued.get((iban, currency), []))
