"""Small helpers for ledger tests: a chart of accounts and transfers in one line."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from kleline.db.engine import Database, RawTx
from kleline.ledger import EntryRequest, Ledger, NormalSide, credit, debit
from kleline.money import Money


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


def open_chart(ledger: Ledger) -> None:
    """The accounts of a small shop network, as DESIGN.md's chart of accounts names them."""
    ledger.open_account("card:visa:receivable", "EUR", NormalSide.DEBIT)
    ledger.open_account("bank:BNPAFRPP:safeguarding", "EUR", NormalSide.DEBIT)
    ledger.open_account("customer:cus_1:purse", "EUR", NormalSide.CREDIT, floor=0)
    ledger.open_account("customer:cus_2:purse", "EUR", NormalSide.CREDIT, floor=0)
    ledger.open_account("merchant:mer_1:balance", "EUR", NormalSide.CREDIT, floor=0)
    ledger.open_account("kleline:commission", "EUR", NormalSide.CREDIT)


def transfer(entry_id: str, source: str, target: str, minor: int, description: str = "") -> EntryRequest:
    """Move ``minor`` cents from ``source`` (debited) to ``target`` (credited)."""
    return EntryRequest(entry_id, (debit(source, eur(minor)), credit(target, eur(minor))), description)


def count_rows(db: Database, table: str) -> int:
    with db.transaction(write=False) as tx:
        return int(tx.fetchone(f"SELECT COUNT(*) FROM {table}")[0])


def book_snapshot(db: Database) -> tuple[int, ...]:
    """Counts of every ledger table plus the sum of all balances: equal snapshots mean nothing was written."""
    with db.transaction(write=False) as tx:
        counts = tuple(
            int(tx.fetchone(f"SELECT COUNT(*) FROM {t}")[0])
            for t in ("ledger_entries", "ledger_postings", "ledger_holds", "ledger_accounts")
        )
        sums = tx.fetchone("SELECT COALESCE(SUM(balance), 0), COALESCE(SUM(held), 0) FROM ledger_balances")
        heads = tx.fetchone("SELECT COALESCE(SUM(seq), 0) FROM ledger_chains")
    return (*counts, int(sums[0]), int(sums[1]), int(heads[0]))


@contextmanager
def counted_statements(tx: RawTx) -> Iterator[list[str]]:
    """The statements ``tx`` runs inside the block, one entry per statement the database steps: ``executemany``
    counts once per row, and a statement deferred to travel with the next one counts as soon as it is deferred."""
    statements: list[str] = []

    def counted(run: Callable[..., Any], many: bool = False) -> Callable[..., Any]:
        def call(sql: str, *args: Any) -> Any:
            statements.extend([" ".join(sql.split())] * (len(args[0]) if many else 1))
            return run(sql, *args)

        return call

    tx.execute, tx.defer = counted(tx.execute), counted(tx.defer)  # type: ignore[method-assign]
    tx.executemany = counted(tx.executemany, many=True)  # type: ignore[method-assign]
    try:
        yield statements
    finally:
        del tx.execute, tx.executemany, tx.defer  # the connection goes back to the pool: no counting there
