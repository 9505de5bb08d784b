"""Safeguarding: what Kleline owes customers and merchants, per currency, against what its safeguarding account(s)
at the partner bank hold, and the difference explained line by line. Every figure is a ledger balance.

The books balance, so the safeguarding accounts hold exactly what every other account says they should::

    safeguarded - (purses + merchants' balances) = sum, over every other account, of its credit balance

and each other account is a line of the explanation, with what it adds to the difference:

==========================  =======  ===========================================================================
line                        sign     why the safeguarding account differs by it
==========================  =======  ===========================================================================
``commission``              \\+       commission Kleline earned and has not swept out to its own account yet
``suspense``                \\+       money the bank received that no payment, payout or top-up claims yet
``in_transit``              \\+ / -   payouts sent (still in the account) less collections sent (not in it yet)
``card_receivables``        \\-       card payments and top-ups captured, not yet settled by the card networks
``customer_receivables``    \\-       what customers owe after a direct debit came back (their purses were spent)
``bad_debt``                \\-       debts written off: a loss Kleline has to make good from its own funds
``other``                   either   any other account, by its code (a bank charge booked by an operator...)
==========================  =======  ===========================================================================

``unexplained`` is what the lines leave of the difference: zero whenever the books balance (the trial balance),
and the report says whether they do.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from kleline.clock import Clock
from kleline.collections.model import BAD_DEBT_ACCOUNT, receivable_code
from kleline.db.engine import Database
from kleline.merchants.model import balance_account
from kleline.payments.postings import COMMISSION_ACCOUNT, INTRODUCTIONS_ACCOUNT, receivable_account
from kleline.reports import store
from kleline.sepa.model import OwnAccount
from kleline.wallet.customers import purse_code

__all__ = [
    "GROUPS",
    "SUSPENSE_ACCOUNT",
    "CurrencySafeguarding",
    "Safeguarding",
    "SafeguardingLine",
    "SafeguardingReport",
]

# Accounts kept one per party are summed by their code's pattern (``%`` for the party's id).
GROUPS: Final = {
    "purses": purse_code("%"),
    "merchant_balances": balance_account("%"),
    "customer_receivables": receivable_code("%"),
}
_PATTERNS: Final = {
    "safeguarding": OwnAccount("", "%", "", "").safeguarding_code,
    "in_transit": OwnAccount("", "%", "", "").in_transit_code,
    "card_receivables": receivable_account("%"),
}
SUSPENSE_ACCOUNT: Final = "kleline:suspense"
"""``reconciliation.postings.SUSPENSE_ACCOUNT``: reconciliation is the reports' sibling, which they do not import."""
_KLELINE: Final = {
    COMMISSION_ACCOUNT: "commission",
    INTRODUCTIONS_ACCOUNT: "introductions",
    SUSPENSE_ACCOUNT: "suspense",
    BAD_DEBT_ACCOUNT: "bad_debt",
}
_ORDER: Final = (
    "commission",
    "introductions",
    "suspense",
    "in_transit",
    "card_receivables",
    "customer_receivables",
    "bad_debt",
    "other",
)


@dataclass(frozen=True, slots=True)
class SafeguardingLine:
    """A balance in the report: its ``kind``, the account's ``code`` (or the pattern of a group's codes), how many
    accounts it sums, their balance on their normal side, and what it adds to the difference (``effect``)."""

    kind: str
    code: str
    accounts: int
    balance: int
    effect: int


@dataclass(frozen=True, slots=True)
class CurrencySafeguarding:
    """One currency: the safeguarding accounts, what is owed (purses and merchants' balances), the difference
    ``safeguarded - owed`` and the lines that explain it; ``balanced`` when the currency's books balance."""

    currency: str
    safeguarding: tuple[SafeguardingLine, ...]
    owed: tuple[SafeguardingLine, ...]
    explanation: tuple[SafeguardingLine, ...]
    balanced: bool

    @property
    def safeguarded(self) -> int:
        """What the safeguarding accounts hold."""
        return sum(line.balance for line in self.safeguarding)

    @property
    def owed_total(self) -> int:
        """What customers' purses and merchants' balances add up to."""
        return sum(line.balance for line in self.owed)

    @property
    def difference(self) -> int:
        """Safeguarded less owed: positive when the account holds more than Kleline owes."""
        return self.safeguarded - self.owed_total

    @property
    def unexplained(self) -> int:
        """What the lines leave of the difference (zero when the books balance)."""
        return self.difference - sum(line.effect for line in self.explanation)


@dataclass(frozen=True, slots=True)
class SafeguardingReport:
    """Every currency of the books, as of ``as_of``."""

    as_of: datetime
    currencies: tuple[CurrencySafeguarding, ...]


def _kind(code: str) -> str:
    """What an account on its own is in the report."""
    if code in _KLELINE:
        return _KLELINE[code]
    for kind, pattern in _PATTERNS.items():
        head, _, tail = pattern.partition("%")
        if code.startswith(head) and code.endswith(tail) and len(code) > len(head) + len(tail):
            return kind
    return "other"


class Safeguarding:
    """The safeguarding report."""

    def __init__(self, db: Database, *, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def report(self) -> SafeguardingReport:
        """Each currency's safeguarding accounts against purses and merchants' balances, with the difference
        explained, from one snapshot of the books."""
        as_of = self._clock()
        with self._db.transaction(write=False, snapshot=True) as tx:
            rows = store.balances_by_group(tx, GROUPS)
        lines: dict[str, list[SafeguardingLine]] = defaultdict(list)
        debits: dict[str, int] = defaultdict(int)
        for row in rows:
            kind, code = (row.group, GROUPS[row.group]) if row.group in GROUPS else (_kind(row.group), row.group)
            signed = row.balance if row.normal_side == "D" else -row.balance  # debit positive
            debits[row.currency] += signed
            lines[row.currency].append(SafeguardingLine(kind, code, row.accounts, row.balance, -signed))
        currencies = []
        for currency in sorted(lines):
            found = lines[currency]
            order = {kind: n for n, kind in enumerate(_ORDER)}
            currencies.append(
                CurrencySafeguarding(
                    currency=currency,
                    safeguarding=tuple(line for line in found if line.kind == "safeguarding"),
                    owed=tuple(
                        sorted(
                            (line for line in found if line.kind in ("purses", "merchant_balances")),
                            key=lambda line: line.kind != "purses",
                        )
                    ),
                    explanation=tuple(
                        sorted(
                            (line for line in found if line.kind in order),
                            key=lambda line: (order[line.kind], line.code),
                        )
                    ),
                    balanced=debits[currency] == 0,
                )
            )
        return SafeguardingReport(as_of, tuple(currencies))
