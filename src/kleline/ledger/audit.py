"""Auditing the books: the trial balance, and ``verify``, which recomputes every hash chain and balance.

``verify`` reads one consistent snapshot (REPEATABLE READ on PostgreSQL, a read transaction on SQLite) and names
every entry whose stored content no longer matches its hash, every gap in a chain (a deleted entry), every chain
whose head does not match its last entry, every posting without its entry, and every account whose stored balance
differs from the sum of its postings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from kleline.db.engine import Database
from kleline.errors import KlelineError
from kleline.ledger import audit_store, store
from kleline.ledger.chain import GENESIS, content_hash, link
from kleline.ledger.model import NormalSide, Posting, normal_delta

__all__ = ["CurrencyTotals", "TrialBalance", "VerifyReport", "trial_balance", "verify"]


@dataclass(frozen=True, slots=True)
class CurrencyTotals:
    """Sum of debit balances and of credit balances over the accounts of one currency."""

    debits: int
    credits: int


@dataclass(frozen=True, slots=True)
class AccountLine:
    """One account on the trial balance: its balance on its normal side."""

    code: str
    currency: str
    normal_side: NormalSide
    balance: int


@dataclass(frozen=True, slots=True)
class TrialBalance:
    """Every account's balance, and per currency the debit and credit totals, which must agree."""

    currencies: dict[str, CurrencyTotals]
    accounts: list[AccountLine]

    @property
    def balanced(self) -> bool:
        """True when debits equal credits in every currency."""
        return all(t.debits == t.credits for t in self.currencies.values())


@dataclass
class VerifyReport:
    """What ``verify`` checked and every problem it found (empty when the books are intact)."""

    entries: int = 0
    chains: int = 0
    accounts: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems


def trial_balance(db: Database) -> TrialBalance:
    """The trial balance, from the stored account balances."""
    with db.transaction(write=False) as tx:
        rows = store.list_accounts(tx)
        balances = audit_store.slot_sums(tx)
    currencies: dict[str, CurrencyTotals] = {}
    lines = []
    for row in rows:
        balance = balances.get(row.id, 0)
        lines.append(AccountLine(row.code, row.account.currency, row.account.normal_side, balance))
        signed = normal_delta(row.account.normal_side, balance)  # debit-positive
        totals = currencies.get(row.account.currency, CurrencyTotals(0, 0))
        currencies[row.account.currency] = CurrencyTotals(
            totals.debits + max(signed, 0), totals.credits + max(-signed, 0)
        )
    return TrialBalance(dict(sorted(currencies.items())), lines)


def verify(db: Database) -> VerifyReport:
    """Recompute every chain, entry hash and balance; report each discrepancy by entry or account."""
    report = VerifyReport()
    with db.transaction(write=False, snapshot=True) as tx:
        accounts = {row.id: row.account for row in store.list_accounts(tx)}
        codes = {account_id: account.code for account_id, account in accounts.items()}
        heads = audit_store.chain_heads(tx)
        for shard, (head_seq, head) in sorted(heads.items()):
            report.chains += 1
            previous, expected_seq = GENESIS, 1
            for columns, legs in audit_store.iter_chain(tx, shard):
                entry_id, posted_at, description, metadata, seq, stored_hash, stored_link = columns
                report.entries += 1
                if seq != expected_seq:
                    report.problems.append(
                        f"chain {shard}: entries {expected_seq}..{seq - 1} are missing before entry {entry_id}"
                    )
                try:
                    postings = [Posting(codes.get(a, f"#{a}"), amount, currency) for a, amount, currency in legs]
                    _check_legs(report, entry_id, postings)
                    recomputed = content_hash(entry_id, int(posted_at), description, json.loads(metadata), postings)
                except (KlelineError, ValueError, TypeError) as error:
                    report.problems.append(f"entry {entry_id}: unreadable ({error})")
                    recomputed = b""
                if recomputed != bytes(stored_hash):
                    report.problems.append(f"entry {entry_id}: content does not match its hash (edited)")
                if link(previous, recomputed) != bytes(stored_link):
                    report.problems.append(f"entry {entry_id}: chain link broken (entry or its predecessor changed)")
                previous, expected_seq = bytes(stored_link), seq + 1
            if expected_seq - 1 != head_seq or previous != head:
                report.problems.append(
                    f"chain {shard}: head is at entry {head_seq}, its entries end at {expected_seq - 1} "
                    "(entries deleted or added behind the ledger's back)"
                )
        for posting_id, entry_id in audit_store.orphan_postings(tx):
            report.problems.append(f"posting {posting_id}: its entry {entry_id} is missing (deleted)")
        sums = audit_store.posting_sums(tx)
        stored = audit_store.slot_sums(tx)
        for account_id, account in sorted(accounts.items()):
            report.accounts += 1
            expected = normal_delta(account.normal_side, sums.get(account_id, 0))
            if stored.get(account_id, 0) != expected:
                report.problems.append(
                    f"account {account.code}: stored balance {stored.get(account_id, 0)} "
                    f"differs from its postings' {expected}"
                )
        for currency, (debits, credits) in sorted(audit_store.currency_totals(tx).items()):
            if debits != credits:
                report.problems.append(f"{currency}: postings do not balance (debits {debits}, credits {credits})")
    return report


def _check_legs(report: VerifyReport, entry_id: str, postings: list[Posting]) -> None:
    if len(postings) < 2:
        report.problems.append(f"entry {entry_id}: has {len(postings)} posting(s), fewer than two")
    sums: dict[str, int] = {}
    for p in postings:
        sums[p.currency] = sums.get(p.currency, 0) + p.amount
    for currency, total in sums.items():
        if total:
            report.problems.append(f"entry {entry_id}: {currency} postings do not sum to zero (off by {total})")
