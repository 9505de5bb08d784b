"""Settlement runs' and payouts' SQL.

``active_merchants`` reads the merchants' table directly (payouts name it by foreign key): a run walks every active
merchant in id order, a batch at a time along the primary key, which keeps a run over ten thousand of them short.
Row locks (``FOR UPDATE``) apply on PostgreSQL; SQLite's write transactions already run one at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from kleline.clock import epoch_us, from_epoch_us
from kleline.db.arrays import array_literal, array_of_texts, one_of
from kleline.db.engine import RawTx, Read
from kleline.money import Money
from kleline.settlement.model import Creditor, Payout, SettlementRun

__all__ = [
    "active_merchants",
    "complete_run",
    "find_payout",
    "find_run",
    "find_run_for_period",
    "insert_payouts",
    "insert_run",
    "list_payouts",
    "list_runs",
    "outlook",
    "paid_merchants",
    "run_file",
    "run_payouts",
    "run_transfers",
    "run_totals",
    "save_payout",
    "stalled_runs",
    "touch_run",
]

_RUN_COLUMNS = (
    "id, period, currency, status, payout_count, total, created_at, completed_at, "
    "(SELECT reason FROM settlement_run_failures f WHERE f.run_id = settlement_runs.id)"
)
_PAYOUT_COLUMNS = (
    "id, merchant_id, settlement_run_id, amount, currency, status, creditor_name, iban, bic, created_at, paid_at, "
    "booked_on, paid_line_ref, failed_at, failure_reason, return_line_ref"
)


def _lock(tx: RawTx, lock: bool) -> str:
    return " FOR UPDATE" if lock and tx.is_postgres else ""


def _time(value: Any) -> Any:
    return None if value is None else from_epoch_us(int(value))


def _run(row: Sequence[Any]) -> SettlementRun:
    return SettlementRun(
        id=row[0],
        period=date.fromisoformat(row[1]),
        currency=row[2],
        # A run that failed is still ``running`` in its row (settlement_run_failures says why it stopped).
        status="failed" if row[8] is not None and row[3] == "running" else row[3],
        payout_count=int(row[4]),
        total=int(row[5]),
        created_at=from_epoch_us(int(row[6])),
        completed_at=_time(row[7]),
        failure_reason=row[8],
    )


def _payout(row: Sequence[Any]) -> Payout:
    return Payout(
        id=row[0],
        merchant_id=row[1],
        settlement_run_id=row[2],
        amount=Money(int(row[3]), row[4]),
        status=row[5],
        creditor=Creditor(row[6], row[7], row[8]),
        created_at=from_epoch_us(int(row[9])),
        paid_at=_time(row[10]),
        booked_on=None if row[11] is None else date.fromisoformat(row[11]),
        paid_line_ref=row[12],
        failed_at=_time(row[13]),
        failure_reason=row[14],
        return_line_ref=row[15],
    )


# --- runs ---------------------------------------------------------------------------------------------------------


def insert_run(tx: RawTx, run: SettlementRun) -> None:
    """Open a run for its period, unless one exists already (then the caller reads that one)."""
    at = epoch_us(run.created_at)
    tx.execute(
        "INSERT INTO settlement_runs (id, period, currency, status, created_at, updated_at) "
        "VALUES (:id, :period, :currency, 'running', :at, :at) ON CONFLICT (period, currency) DO NOTHING",
        {"id": run.id, "period": run.period.isoformat(), "currency": run.currency, "at": at},
    )


def find_run(tx: RawTx, run_id: str, *, lock: bool = False) -> SettlementRun | None:
    """A run by id, locked until the transaction ends with ``lock``."""
    row = tx.fetchone(f"SELECT {_RUN_COLUMNS} FROM settlement_runs WHERE id = :id{_lock(tx, lock)}", {"id": run_id})
    return None if row is None else _run(row)


def find_run_for_period(tx: RawTx, period: date, currency: str) -> SettlementRun | None:
    """The run of a period, if it was started."""
    row = tx.fetchone(
        f"SELECT {_RUN_COLUMNS} FROM settlement_runs WHERE period = :period AND currency = :currency",
        {"period": period.isoformat(), "currency": currency},
    )
    return None if row is None else _run(row)


def list_runs(tx: RawTx, *, limit: int, after: str | None) -> list[SettlementRun]:
    """Runs newest first, after the run ``after``."""
    where = ""
    params: dict[str, object] = {"limit": limit}
    if after is not None:
        where = (
            "WHERE (created_at < (SELECT created_at FROM settlement_runs WHERE id = :after) OR "
            "(created_at = (SELECT created_at FROM settlement_runs WHERE id = :after) AND id < :after)) "
        )
        params["after"] = after
    rows = tx.fetchall(
        f"SELECT {_RUN_COLUMNS} FROM settlement_runs {where}ORDER BY created_at DESC, id DESC LIMIT :limit", params
    )
    return [_run(row) for row in rows]


def run_file(tx: RawTx, run_id: str) -> bytes | None:
    """The pain.001 file a complete run stored, or None."""
    row = tx.fetchone("SELECT file FROM settlement_runs WHERE id = :id", {"id": run_id})
    return None if row is None or row[0] is None else bytes(row[0])


def touch_run(tx: RawTx, run_id: str, at: int) -> None:
    """Note that the run made progress (a run untouched for long was interrupted: the worker finishes it)."""
    tx.execute("UPDATE settlement_runs SET updated_at = :at WHERE id = :id", {"at": at, "id": run_id})


def run_totals(tx: RawTx, run_id: str) -> tuple[int, int]:
    """How many payouts the run made, and their sum."""
    row = tx.fetchone(
        "SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM payouts WHERE settlement_run_id = :run", {"run": run_id}
    )
    return int(row[0]), int(row[1])


def complete_run(tx: RawTx, run_id: str, count: int, total: int, file: bytes | None, at: int) -> None:
    """Mark the run complete with its totals and its file."""
    tx.execute(
        "UPDATE settlement_runs SET status = 'complete', payout_count = :count, total = :total, file = :file, "
        "completed_at = :at, updated_at = :at WHERE id = :id",
        {"count": count, "total": total, "file": file, "at": at, "id": run_id},
    )


def fail_run(tx: RawTx, run_id: str, reason: str, at: int) -> None:
    """Record why the run stopped (it then reads ``failed``); the latest reason wins."""
    tx.execute("DELETE FROM settlement_run_failures WHERE run_id = :id", {"id": run_id})
    tx.execute(
        "INSERT INTO settlement_run_failures (run_id, reason, failed_at) VALUES (:id, :reason, :at)",
        {"id": run_id, "reason": reason[:500], "at": at},
    )


def clear_failure(tx: RawTx, run_id: str) -> None:
    """Forget why the run stopped: it is ``running`` again, to be finished."""
    tx.execute("DELETE FROM settlement_run_failures WHERE run_id = :id", {"id": run_id})


def stalled_runs(tx: RawTx, before: int, limit: int) -> list[str]:
    """Runs still running and untouched since ``before``: a crash interrupted them."""
    rows = tx.fetchall(
        "SELECT id FROM settlement_runs WHERE status = 'running' AND updated_at < :before "
        "AND NOT EXISTS (SELECT 1 FROM settlement_run_failures f WHERE f.run_id = settlement_runs.id) "
        "ORDER BY updated_at LIMIT :limit",
        {"before": before, "limit": limit},
    )
    return [str(row[0]) for row in rows]


# --- payouts ------------------------------------------------------------------------------------------------------


def active_merchants(tx: RawTx, *, after: str, limit: int) -> list[tuple[str, Creditor]]:
    """The next ``limit`` merchants to pay after the id ``after``, in id order, with their bank details: the active
    ones and the suspended ones (a suspension stops new payments, not the payout of money already earned; a pending
    merchant never had a balance)."""
    rows = tx.fetchall(
        "SELECT id, name, iban, bic FROM merchants WHERE status IN ('active', 'suspended') AND id > :after "
        "ORDER BY id LIMIT :limit",
        {"after": after, "limit": limit},
    )
    return [(str(row[0]), Creditor(row[1], row[2], row[3])) for row in rows]


def paid_merchants(tx: RawTx, run_id: str, merchant_ids: Sequence[str]) -> set[str]:
    """Those of ``merchant_ids`` the run has paid already.

    A second query rather than an anti-join with the merchants: its plan (the unique index on (run, merchant)) does
    not depend on the planner's statistics of a payouts table that a run fills from nothing. The ids travel as
    ``one_of`` sends them (a batch's 500 placeholders cost about 9 ms a batch to bind on PostgreSQL)."""
    if not merchant_ids:
        return set()
    params: dict[str, object] = {"run": run_id}
    condition = one_of(tx, "merchant_id", merchant_ids, "merchant", params)
    rows = tx.fetchall(f"SELECT merchant_id FROM payouts WHERE settlement_run_id = :run AND {condition}", params)
    return {str(row[0]) for row in rows}


def insert_payouts(tx: RawTx, payouts: Sequence[Payout]) -> None:
    """Record new payouts (``in_transit``).

    PostgreSQL: one statement over arrays (``unnest``), so that a batch of 500 payouts is one execution on the
    server instead of 500 (each its own bind, execute and result), and the client adapts 10 texts instead of 5,000
    values. SQLite: ``executemany``, stepped in-process."""
    if not payouts:
        return
    if tx.is_postgres:
        tx.execute(_INSERT_PAYOUTS_POSTGRES, _payout_arrays(payouts))
        return
    tx.executemany(
        "INSERT INTO payouts (id, merchant_id, settlement_run_id, amount, currency, status, creditor_name, iban, "
        "bic, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                p.id,
                p.merchant_id,
                p.settlement_run_id,
                p.amount.minor,
                p.amount.currency,
                p.status,
                p.creditor.name,
                p.creditor.iban,
                p.creditor.bic,
                epoch_us(p.created_at),
            )
            for p in payouts
        ],
    )


_INSERT_PAYOUTS_POSTGRES = (
    "INSERT INTO payouts (id, merchant_id, settlement_run_id, amount, currency, status, creditor_name, iban, bic, "
    "created_at) SELECT * FROM unnest(CAST(:ids AS text[]), CAST(:merchants AS text[]), CAST(:runs AS text[]), "
    "CAST(:amounts AS bigint[]), CAST(:currencies AS text[]), CAST(:statuses AS text[]), CAST(:names AS text[]), "
    "CAST(:ibans AS text[]), CAST(:bics AS text[]), CAST(:created AS bigint[]))"
)


def _payout_arrays(payouts: Sequence[Payout]) -> dict[str, str]:
    """The payouts' columns as array literals (``kleline.db.arrays``), named as ``_INSERT_PAYOUTS_POSTGRES`` reads
    them."""
    return {
        "ids": array_of_texts(p.id for p in payouts),
        "merchants": array_of_texts(p.merchant_id for p in payouts),
        "runs": array_of_texts(p.settlement_run_id for p in payouts),
        "amounts": array_literal(p.amount.minor for p in payouts),
        "currencies": array_of_texts(p.amount.currency for p in payouts),
        "statuses": array_of_texts(p.status for p in payouts),
        "names": array_of_texts(p.creditor.name for p in payouts),
        "ibans": array_of_texts(p.creditor.iban for p in payouts),
        "bics": array_of_texts(p.creditor.bic for p in payouts),
        "created": array_literal(epoch_us(p.created_at) for p in payouts),
    }


def save_payout(tx: RawTx, payout: Payout) -> None:
    """Write what a statement line changed: the status and the line's traces."""
    tx.execute(
        "UPDATE payouts SET status = :status, paid_at = :paid_at, booked_on = :booked_on, "
        "paid_line_ref = :paid_ref, failed_at = :failed_at, failure_reason = :reason, return_line_ref = :return_ref "
        "WHERE id = :id",
        {
            "status": payout.status,
            "paid_at": None if payout.paid_at is None else epoch_us(payout.paid_at),
            "booked_on": None if payout.booked_on is None else payout.booked_on.isoformat(),
            "paid_ref": payout.paid_line_ref,
            "failed_at": None if payout.failed_at is None else epoch_us(payout.failed_at),
            "reason": payout.failure_reason,
            "return_ref": payout.return_line_ref,
            "id": payout.id,
        },
    )


def find_payout(tx: RawTx, payout_id: str, *, lock: bool = False) -> Payout | None:
    """A payout by id, locked until the transaction ends with ``lock``."""
    row = tx.fetchone(f"SELECT {_PAYOUT_COLUMNS} FROM payouts WHERE id = :id{_lock(tx, lock)}", {"id": payout_id})
    return None if row is None else _payout(row)


def run_payouts(tx: RawTx, run_id: str) -> list[Payout]:
    """Every payout of a run, in merchant order: the order of the transfers in its file."""
    rows = tx.fetchall(
        f"SELECT {_PAYOUT_COLUMNS} FROM payouts WHERE settlement_run_id = :run ORDER BY merchant_id", {"run": run_id}
    )
    return [_payout(row) for row in rows]


def run_transfers(tx: RawTx, run_id: str) -> list[tuple[str, Money, Creditor]]:
    """What a run's file needs of each payout (its id, amount and creditor), in merchant order: the order of the
    transfers in the file. Lighter than ``run_payouts``: a run over ten thousand merchants reads them all."""
    rows = tx.fetchall(
        "SELECT id, amount, currency, creditor_name, iban, bic FROM payouts WHERE settlement_run_id = :run "
        "ORDER BY merchant_id",
        {"run": run_id},
    )
    return [(str(row[0]), Money(int(row[1]), row[2]), Creditor(row[3], row[4], row[5])) for row in rows]


def list_payouts(
    tx: RawTx,
    *,
    merchant_id: str | None,
    run_id: str | None,
    status: str | None,
    limit: int,
    after: str | None,
) -> list[Payout]:
    """Payouts newest first, filtered, after the payout ``after``."""
    where: list[str] = []
    params: dict[str, object] = {"limit": limit}
    for column, value in (("merchant_id", merchant_id), ("settlement_run_id", run_id), ("status", status)):
        if value is not None:
            where.append(f"{column} = :{column}")
            params[column] = value
    if after is not None:
        where.append(
            "(created_at < (SELECT created_at FROM payouts WHERE id = :after) OR "
            "(created_at = (SELECT created_at FROM payouts WHERE id = :after) AND id < :after))"
        )
        params["after"] = after
    clause = f"WHERE {' AND '.join(where)} " if where else ""
    rows = tx.fetchall(
        f"SELECT {_PAYOUT_COLUMNS} FROM payouts {clause}ORDER BY created_at DESC, id DESC LIMIT :limit", params
    )
    return [_payout(row) for row in rows]


def outlook(merchant_id: str, period: date, currency: str) -> Read[tuple[str | None, Payout | None]]:
    """In one statement: the status of ``period``'s run (None before it started) and the merchant's newest payout in
    transit (None when all were paid)."""
    return Read(
        "SELECT r.status, p.* FROM (SELECT 1 AS one) o "
        "LEFT JOIN (SELECT status FROM settlement_runs WHERE period = :period AND currency = :currency) r ON 1 = 1 "
        f"LEFT JOIN (SELECT {_PAYOUT_COLUMNS} FROM payouts WHERE merchant_id = :merchant AND status = 'in_transit' "
        "  ORDER BY created_at DESC, id DESC LIMIT 1) p ON 1 = 1",
        {"period": period.isoformat(), "currency": currency, "merchant": merchant_id},
        _outlook,
        width=1 + len(_PAYOUT_COLUMNS.split(", ")),
    )


def _outlook(rows: list[Any]) -> tuple[str | None, Payout | None]:
    row = rows[0]
    return row[0], None if row[1] is None else _payout(row[1:])
