"""PostgreSQL: our ledger beside pgbench's tpcb-like transaction, same clients, same server, same run."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import tempfile
from pathlib import Path

import psycopg

from bench.common import PHASES, ROUNDS, Clients, Report, section
from bench.databases import ADMIN_URL, new_postgres
from bench.ledger_setup import BATCH_SIZE, UNIFORM, TransferSource, batch_client, open_books, transfer_client
from kleline.db.engine import Database
from kleline.ledger import Ledger

__all__ = ["ADMIN_URL", "SECONDS", "run"]

SECONDS = float(os.environ.get("KLELINE_BENCH_SECONDS", "5"))


def _admin(sql: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        connection.execute(sql)


def _url(name: str) -> str:
    return f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"


def _pgbench_round(name: str, *args: str) -> str:
    """A measured pgbench run (its connections' start included)."""
    with PHASES.measuring():
        return _pgbench(name, *args)


def _pgbench(name: str, *args: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(ADMIN_URL)
    command = ["pgbench", "-h", str(info.get("host", "127.0.0.1")), "-p", str(info.get("port", 5432))]
    command += ["-U", str(info.get("user", "postgres")), *args, name]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def pgbench_tps(name: str, clients: int) -> float:
    """tpcb-like transactions per second at ``clients`` clients (pgbench's own figure)."""
    out = _pgbench_round(name, "-c", str(clients), "-j", str(clients), "-T", str(int(SECONDS)))
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    if not match:
        raise RuntimeError(f"pgbench printed no tps:\n{out}")
    return float(match.group(1))


SERVER_ONLY_SCRIPT = r"""
\set s random(:first_source, :last_source)
\set t random(:first_target, :last_target)
\set shard random(0, 15)
\set slot random(0, 7)
\set amount random(1, 10000)
SELECT kleline_post_entry('srv_' || :client_id || '_' || md5(random()::text), 0, '', '{}', '\x01'::bytea, :shard,
    ARRAY[:s, :t]::integer[], ARRAY['EUR', 'EUR'], ARRAY[:amount, -:amount]::bigint[],
    ARRAY[:s, :t]::integer[], ARRAY[:slot, :slot]::integer[], ARRAY[:amount, :amount]::bigint[],
    ARRAY[0, 0]::bigint[]);
"""


def server_only_tps(name: str, clients: int, script: Path, ids: dict[str, int]) -> float:
    """The ledger's one-statement transfer driven by pgbench itself: the server's share, no Python client."""
    variables = [f"-D{key}={value}" for key, value in ids.items()]
    out = _pgbench_round(
        name, "-n", "-f", str(script), *variables, "-c", str(clients), "-j", str(clients), "-T", str(int(SECONDS))
    )
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    if not match:
        raise RuntimeError(f"pgbench printed no tps:\n{out}")
    return float(match.group(1))


def _uniform_ids(url: str) -> dict[str, int]:
    with psycopg.connect(url) as connection:
        ids = dict(connection.execute("SELECT code, id FROM ledger_accounts").fetchall())
    sources, targets = [ids[c] for c in UNIFORM[0]], [ids[c] for c in UNIFORM[1]]
    assert sources == list(range(sources[0], sources[-1] + 1)) and targets == list(range(targets[0], targets[-1] + 1))
    return {
        "first_source": sources[0],
        "last_source": sources[-1],
        "first_target": targets[0],
        "last_target": targets[-1],
    }


def run(report: Report) -> None:
    section("PostgreSQL: ledger transfers vs pgbench tpcb-like (scale 10)")
    suffix = secrets.token_hex(4)
    reference, ours = f"kleline_bench_pgbench_{suffix}", f"kleline_bench_ledger_{suffix}"
    _admin(f'CREATE DATABASE "{reference}"')
    try:
        new_postgres(ours)
        _pgbench(reference, "-i", "-s", "10", "-q")
        db = Database(_url(ours))
        ledger = Ledger(db, chain_shards=16)
        ledger.prepare()
        open_books(ledger)
        # As pgbench -i does for its tables: some history, then VACUUM ANALYZE, so the planner knows the tables.
        warm_up = TransferSource(UNIFORM, 999)
        for _ in range(5):
            ledger.post_batch([warm_up.next() for _ in range(BATCH_SIZE)])
        db.dispose()
        with psycopg.connect(_url(ours), autocommit=True) as connection:
            connection.execute("VACUUM ANALYZE")
        url = _url(ours)
        script = Path(tempfile.mkdtemp(prefix="kleline-bench-")) / "post_entry.sql"
        script.write_text(SERVER_ONLY_SCRIPT)
        ids = _uniform_ids(url)
        figures: dict[str, list[float]] = {}
        with Clients(4) as clients_:
            for _ in range(ROUNDS):
                for clients in (1, 4):
                    figures.setdefault(f"pgbench tpcb-like, {clients} client(s)", []).append(
                        pgbench_tps(reference, clients)
                    )
                    figures.setdefault(f"ledger transfer, uniform (50 accounts), {clients} client(s)", []).append(
                        clients_.rate(transfer_client, (url, False), clients, SECONDS)
                    )
                    figures.setdefault(f"ledger transfer, hot (2 accounts), {clients} client(s)", []).append(
                        clients_.rate(transfer_client, (url, True), clients, SECONDS)
                    )
                figures.setdefault("kleline_post_entry driven by pgbench (no Python), 4 clients", []).append(
                    server_only_tps(url.rsplit("/", 1)[1], 4, script, ids)
                )
                figures.setdefault(f"ledger batch call ({BATCH_SIZE} per batch), 1 client", []).append(
                    clients_.rate(batch_client, (url,), 1, SECONDS)
                )
                figures.setdefault(f"ledger batch call ({BATCH_SIZE} per batch), 4 clients", []).append(
                    clients_.rate(batch_client, (url,), 4, SECONDS)
                )
        medians = {name: report.figure(name, rounds, "tx/s") for name, rounds in figures.items()}
        pgbench4 = medians["pgbench tpcb-like, 4 client(s)"]
        report.ratio(
            "ledger transfer, 1 client / pgbench, 1 client",
            medians["ledger transfer, uniform (50 accounts), 1 client(s)"],
            medians["pgbench tpcb-like, 1 client(s)"],
        )
        report.ratio(
            "pg-transfer-4-clients",
            medians["ledger transfer, uniform (50 accounts), 4 client(s)"],
            pgbench4,
            goal=0.8,
        )
        report.ratio(
            "server side alone (pgbench-driven kleline_post_entry) / pgbench, 4 clients",
            medians["kleline_post_entry driven by pgbench (no Python), 4 clients"],
            pgbench4,
        )
        report.ratio(
            "pg-hot-accounts",
            medians["ledger transfer, hot (2 accounts), 4 client(s)"],
            medians["ledger transfer, uniform (50 accounts), 4 client(s)"],
            goal=0.9,
        )
        best_batch = max(
            medians[f"ledger batch call ({BATCH_SIZE} per batch), 1 client"],
            medians[f"ledger batch call ({BATCH_SIZE} per batch), 4 clients"],
        )
        report.ratio("pg-batch", best_batch, pgbench4, goal=10)
        check = Database(url)
        from kleline.ledger.audit import trial_balance

        assert trial_balance(check).balanced, "the benchmark left unbalanced books"
        check.dispose()
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{reference}" WITH (FORCE)')
        _admin(f'DROP DATABASE IF EXISTS "{ours}" WITH (FORCE)')
