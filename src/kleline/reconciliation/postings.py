"""The entries reconciliation posts itself (DESIGN.md section 3, "Money flows"), as pure functions.

Payouts and collections are confirmed by their own services, which post their own entries; reconciliation posts
the rest. Every leg on the bank side goes to the safeguarding account, which mirrors Kleline's account at the bank:
a credit line on the statement is a debit there (money came in), a debit line a credit.

- card settlement (credit line): safeguarding Dr / the network's receivable Cr
- card refund settlement (debit line): the network's receivable Dr / safeguarding Cr
- unexplained line: credit → safeguarding Dr / suspense Cr; debit → suspense Dr / safeguarding Cr
- released from suspense (an operator found what it was): the same, reversed, before the counterpart's own entry
- resolved to an account: credit → suspense Dr / the account Cr; debit → the account Dr / suspense Cr
"""

from __future__ import annotations

from kleline.ledger import Posting, credit, debit
from kleline.reconciliation.model import Target
from kleline.sepa.model import Direction, OwnAccount, StatementLine

__all__ = [
    "SUSPENSE_ACCOUNT",
    "card_settlement_postings",
    "into_suspense",
    "out_of_suspense",
    "release_from_suspense",
]

SUSPENSE_ACCOUNT = "kleline:suspense"


def card_settlement_postings(
    own: OwnAccount, line: StatementLine, target: Target, receivable: str
) -> tuple[Posting, ...]:
    """A card network settling captures (money in) or refunds (money out) against its receivable."""
    if target is Target.CARD_REFUND:
        return (debit(receivable, line.amount), credit(own.safeguarding_code, line.amount))
    return (debit(own.safeguarding_code, line.amount), credit(receivable, line.amount))


def into_suspense(own: OwnAccount, line: StatementLine) -> tuple[Posting, ...]:
    """The bank's movement booked, its cause parked in suspense."""
    if line.direction is Direction.CREDIT:
        return (debit(own.safeguarding_code, line.amount), credit(SUSPENSE_ACCOUNT, line.amount))
    return (debit(SUSPENSE_ACCOUNT, line.amount), credit(own.safeguarding_code, line.amount))


def release_from_suspense(own: OwnAccount, line: StatementLine) -> tuple[Posting, ...]:
    """``into_suspense`` reversed: the counterpart's own entry then books the bank movement properly."""
    if line.direction is Direction.CREDIT:
        return (debit(SUSPENSE_ACCOUNT, line.amount), credit(own.safeguarding_code, line.amount))
    return (debit(own.safeguarding_code, line.amount), credit(SUSPENSE_ACCOUNT, line.amount))


def out_of_suspense(line: StatementLine, account: str) -> tuple[Posting, ...]:
    """The money held in suspense moved to where an operator says it belongs."""
    if line.direction is Direction.CREDIT:
        return (debit(SUSPENSE_ACCOUNT, line.amount), credit(account, line.amount))
    return (debit(account, line.amount), credit(SUSPENSE_ACCOUNT, line.amount))
