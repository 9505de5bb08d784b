"""Where a purse payment's CPU goes, on PostgreSQL: the worker's Python profile and the database's function times.

``python -m bench.payments_profile [SECONDS] [CONNECTIONS]`` (``PYTHONPATH=src``) migrates a fresh database,
populates the bench's shop (fewer customers), and serves Kleline's API in this process (one uvicorn worker, access
logs off, as ``bench.api_server`` serves it) with a ``cProfile`` profiler in every thread: the event loop's and each
of AnyIO's worker threads (their profiles are merged). The bench's own load generator (``bench.http_load``, a
process of its own) then makes purse payments for ``SECONDS`` (default 20) over ``CONNECTIONS`` (default 8).

Printed: the profile's top functions by own time and by cumulative time, in µs per payment (cProfile inflates
small Python calls, so read it for the shares, not the absolute figures); and from PostgreSQL (the database is
created with ``track_functions = 'all'``) every function and trigger function by own time per payment, the
statements the payments sent per payment, and the rows each table gained. The database is dropped afterwards.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import secrets
import sys
import threading
import time
from typing import Any

import psycopg

from bench.api_server import free_port
from bench.databases import new_postgres
from bench.http_load import Plan, run_round
from bench.ledger_postgres import ADMIN_URL
from bench.payments_shop import HOST, SCA, open_shop
from bench.usage import cpu_of, database

CUSTOMERS = int(os.environ.get("KLELINE_PROFILE_CUSTOMERS", "32"))


class ThreadProfiles:
    """One ``cProfile.Profile`` per thread, started as each thread first runs Python code, merged at the end."""

    def __init__(self) -> None:
        self.profiles: list[cProfile.Profile] = []
        self._lock = threading.Lock()

    def _start_here(self, *_: Any) -> None:
        profile = cProfile.Profile(time.thread_time)  # CPU time of the thread, not the wall clock
        with self._lock:
            self.profiles.append(profile)
        profile.enable()

    def start(self) -> None:
        """Profile every thread started from now on (not this one)."""
        if os.environ.get("KLELINE_PROFILE_PYTHON", "1") != "0":
            threading.setprofile(self._start_here)

    def clear(self) -> None:
        """Forget what was counted so far (the warm-up)."""
        with self._lock:
            for profile in self.profiles:
                profile.clear()

    def stop(self) -> pstats.Stats:
        threading.setprofile(None)  # type: ignore[arg-type]
        for profile in self.profiles:
            profile.disable()  # this thread's; the others' are read as they stand
            profile.create_stats()
        counted = [profile for profile in self.profiles if profile.stats]  # type: ignore[attr-defined]
        stats = pstats.Stats(counted[0])
        for profile in counted[1:]:
            stats.add(profile)
        return stats


def _table(stats: pstats.Stats, key: str, payments: int, rows: int, unit: str = "payment") -> str:
    """The top ``rows`` functions by ``key`` ("tottime" or "cumtime"), in µs per ``unit`` (``payments`` of them)."""
    entries = []
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (path, line, name), (_cc, calls, tottime, cumtime, _callers) in raw.items():
        value = tottime if key == "tottime" else cumtime
        entries.append((value, calls, path, line, name))
    entries.sort(reverse=True)
    out = io.StringIO()
    out.write(f"{'µs/' + unit:>11} {'calls/' + unit[:4]:>9}  function ({key})\n")
    for value, calls, path, line, name in entries[:rows]:
        short = path.split("site-packages/")[-1].split("/src/")[-1]
        out.write(f"{1e6 * value / payments:>11.1f} {calls / payments:>9.1f}  {short}:{line}({name})\n")
    return out.getvalue()


def _database_side(url: str, payments: int) -> str:
    out = io.StringIO()
    with psycopg.connect(url, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT schemaname || '.' || funcname, calls, self_time, total_time FROM pg_stat_user_functions"
            " ORDER BY self_time DESC LIMIT 25"
        ).fetchall()
        out.write(f"{'self µs/pay':>11} {'total µs/pay':>12} {'calls/pay':>9}  function\n")
        for name, calls, self_time, total_time in rows:
            out.write(
                f"{1000 * self_time / payments:>11.1f} {1000 * total_time / payments:>12.1f}"
                f" {calls / payments:>9.2f}  {name}\n"
            )
        tables = connection.execute(
            "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del, seq_scan, idx_scan FROM pg_stat_user_tables"
            " WHERE n_tup_ins + n_tup_upd + n_tup_del > 0 ORDER BY relname"
        ).fetchall()
        out.write(f"\n{'ins/pay':>8} {'upd/pay':>8} {'del/pay':>8} {'seq':>8} {'idx':>10}  table\n")
        for name, ins, upd, dele, seq, idx in tables:
            out.write(
                f"{ins / payments:>8.2f} {upd / payments:>8.2f} {dele / payments:>8.2f} {seq or 0:>8} {idx or 0:>10}"
                f"  {name}\n"
            )
    return out.getvalue()


def serve_profiled() -> tuple[Any, threading.Thread, int, ThreadProfiles]:
    """Kleline served in this process from the environment's settings (one uvicorn worker, access logs off, as
    ``bench.api_server`` serves it), every thread of it profiled: the server, its thread, its port, the profiles."""
    import uvicorn

    port = free_port(HOST)
    config = uvicorn.Config(
        "kleline.api.main:app_from_environment",
        factory=True,
        host=HOST,
        port=port,
        access_log=False,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    profiles = ThreadProfiles()
    profiles.start()
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread, port, profiles


def main(seconds: float, connections: int) -> None:
    name = f"kleline_profile_{secrets.token_hex(4)}"
    base = ADMIN_URL.rsplit("/", 1)[0]
    url = f"{base}/{name}"
    new_postgres(name)  # migrated: a clone of the run's template
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"ALTER DATABASE \"{name}\" SET track_functions = 'all'")
    try:
        shop = open_shop(url, CUSTOMERS)
        os.environ.update(
            KLELINE_DATABASE_URL=url,
            KLELINE_SCA_CUMULATIVE_LIMIT=str(SCA["sca_cumulative_limit"]),
            KLELINE_SCA_MAX_PAYMENTS=str(SCA["sca_max_payments"]),
        )
        server, thread, port, profiles = serve_profiled()
        plan = Plan("purse", HOST, port, connections, 2.0, shop.merchant_key, shop.customer_tokens, shop.payment_id)
        run_round(plan)  # warm-up: caches, prepared statements
        time.sleep(11)  # idle backends flush their statistics within 10 s: the warm-up's before the reset

        backends: list[int] = []
        backend_cpu = 0.0

        def reset() -> None:
            nonlocal backends, backend_cpu
            with psycopg.connect(url, autocommit=True) as connection:
                connection.execute("SELECT pg_stat_reset()")
            backends = database(ADMIN_URL, name).backends
            backend_cpu = sum(cpu_of(pid) for pid in backends)
            profiles.clear()

        print(f"serving in process {os.getpid()}", flush=True)
        began = time.process_time()
        result = run_round(Plan(**{**plan.__dict__, "seconds": seconds}), before_go=reset)
        stats = profiles.stop() if profiles.profiles else None
        cpu = time.process_time() - began
        backend_cpu = sum(cpu_of(pid) for pid in backends) - backend_cpu
        payments = max(1, result.succeeded_total)
        server.should_exit = True
        thread.join(timeout=30)
        time.sleep(1.5)  # the backends flush their statistics as they exit
        print(
            f"{payments} payments in {seconds:g} s over {connections} connections ({result.errors} errors); "
            f"this process (server + profiler): {1e6 * cpu / payments:.0f} µs CPU per payment; PostgreSQL's "
            f"backends: {1e6 * backend_cpu / payments:.0f} µs\n"
        )
        if stats is not None:
            print(_table(stats, "tottime", payments, 45))
            print(_table(stats, "cumtime", payments, 70))
        print(_database_side(url, payments))
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 20.0, int(sys.argv[2]) if len(sys.argv) > 2 else 8)
