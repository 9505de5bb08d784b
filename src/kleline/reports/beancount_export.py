"""Kleline's whole ledger as a beancount file: ``bean-check`` accepts it, and it proves the books add up.

What the file holds, in this order: the options (title, operating currencies), an ``open`` for every account
(dated by its opening, or its first posting if that came earlier, restricted to its currency, with the ledger's own
code as metadata), one transaction per journal entry in the order entries were posted (the entry's id and metadata
as metadata, its postings with exact decimal amounts, debit positive as in the ledger), and finally an exact ``balance``
assertion (tolerance ``~ 0``: beancount would otherwise let a cent pass) per account with the balance the ledger
stores for it. ``bean-check`` then checks independently that
every entry balances and that the stored balances are the sums of the postings.

Account names: beancount wants ``Root:Component:...`` with components starting with a capital or a digit and made
of letters, digits and hyphens. The root follows the account's nature (DESIGN.md's chart of accounts): Kleline's
commission is ``Income``, the debts it wrote off (``kleline:bad-debt``) ``Expenses``, other debit-normal accounts
(bank, card receivables, in-transit, customers' receivables) ``Assets``, other credit-normal accounts (purses,
merchants' balances, suspense) ``Liabilities``.
Components are the code's parts with other characters turned into hyphens and a capital first letter
(``merchant:mer_1f:balance`` is ``Liabilities:Merchant:Mer-1f:Balance``); if two codes ever met on one name, both
get a short hash of their code appended, so that names stay distinct.

Read in one snapshot, a page of entries at a time; no clock is read, so the same books give the same bytes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final, TextIO

from kleline.clock import from_epoch_us
from kleline.db.engine import Database
from kleline.ledger import NormalSide
from kleline.ledger.model import normal_delta
from kleline.money import Money
from kleline.reports import store
from kleline.reports.store import AccountInfo

__all__ = ["ExportSummary", "account_names", "write_beancount"]

INCOME_CODES: Final = ("kleline:commission", "kleline:introductions")
EXPENSE_CODES: Final = ("kleline:bad-debt",)
_NOT_NAME: Final = re.compile(r"[^A-Za-z0-9-]")
_META_KEY: Final = re.compile(r"^[a-z][a-zA-Z0-9_-]*$")
_RESERVED_KEYS: Final = frozenset({"filename", "lineno", "entry"})


@dataclass(frozen=True, slots=True)
class ExportSummary:
    """What an export wrote."""

    accounts: int
    entries: int


def _root(code: str, normal_side: str) -> str:
    if code in INCOME_CODES or any(code.startswith(f"{income}:") for income in INCOME_CODES):
        return "Income"
    if code in EXPENSE_CODES:
        return "Expenses"
    return "Assets" if normal_side == NormalSide.DEBIT.value else "Liabilities"


def _component(part: str) -> str:
    name = _NOT_NAME.sub("-", part)
    if not name[:1].isalnum():
        name = "X" + name
    return name[0].upper() + name[1:]


def account_names(accounts: Iterable[AccountInfo]) -> dict[str, str]:
    """The beancount name of each account, by code: valid, readable, and distinct."""
    names = {a.code: ":".join([_root(a.code, a.normal_side), *map(_component, a.code.split(":"))]) for a in accounts}
    taken: dict[str, list[str]] = {}
    for code, name in names.items():
        taken.setdefault(name, []).append(code)
    for name, codes in taken.items():
        if len(codes) > 1:
            for code in codes:
                names[code] = f"{name}-{hashlib.sha256(code.encode()).hexdigest()[:8]}"
    return names


def _string(value: str) -> str:
    """A beancount string literal on one line."""
    flat = " ".join(value.split()) if any(c in value for c in "\r\n\t") else value
    return '"' + flat.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _meta_key(key: str) -> str:
    if _META_KEY.match(key) and key not in _RESERVED_KEYS:
        return key
    return "meta-" + re.sub(r"[^a-zA-Z0-9_-]", "-", key)


def _meta_value(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return _string(str(value))


def _metadata(entry_id: str, metadata: Mapping[str, object]) -> list[str]:
    lines = [f"  entry: {_string(entry_id)}"]
    for key in sorted(metadata):
        value = _meta_value(metadata[key])
        if value is not None:
            lines.append(f"  {_meta_key(key)}: {value}")
    return lines


def _amount(minor: int, currency: str) -> str:
    return f"{Money(minor, currency).to_decimal():f} {currency}"


def _day(epoch: int) -> date:
    return from_epoch_us(epoch).date()


def write_beancount(db: Database, out: TextIO) -> ExportSummary:
    """Write every account, entry and stored balance of the books to ``out``."""
    entries = 0
    with db.transaction(write=False, snapshot=True) as tx:
        accounts = store.all_accounts(tx)
        names = account_names(accounts)
        by_id = {a.id: names[a.code] for a in accounts}
        first_use = store.account_first_use(tx)
        balances = store.stored_balances(tx)
        out.write("; Kleline's ledger: every journal entry as a transaction, every stored balance asserted.\n")
        out.write('option "title" "Kleline"\n')
        for currency in sorted({a.currency for a in accounts}):
            out.write(f'option "operating_currency" "{currency}"\n')
        out.write("\n")
        last: date | None = None
        for a in accounts:
            opened = _day(min(a.created_at, first_use.get(a.id, a.created_at)))
            last = opened if last is None or opened > last else last
            out.write(f"{opened:%Y-%m-%d} open {names[a.code]} {a.currency}\n  code: {_string(a.code)}\n")
        for entry in store.iter_entries(tx):
            day = _day(entry.posted_at)
            last = day if last is None or day > last else last
            out.write(f"\n{day:%Y-%m-%d} * {_string(entry.description)}\n")
            out.write("\n".join(_metadata(entry.id, entry.metadata)) + "\n")
            for account_id, minor, currency in entry.legs:
                out.write(f"  {by_id[account_id]}  {_amount(minor, currency)}\n")
            entries += 1
    if last is not None:
        # A balance assertion holds at the start of its day: the day after the last entry sees them all.
        checked = last + timedelta(days=1)
        out.write("\n")
        for a in accounts:
            signed = normal_delta(NormalSide(a.normal_side), balances.get(a.id, 0))
            units = Money(signed, a.currency).to_decimal()
            out.write(f"{checked:%Y-%m-%d} balance {names[a.code]}  {units:f} ~ 0 {a.currency}\n")
    return ExportSummary(len(accounts), entries)
