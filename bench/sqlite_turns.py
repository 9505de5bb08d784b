"""How long a SQLite writer's turn lasts: the time a purse payment's transactions hold the write lock.

``python -m bench.sqlite_turns [SECONDS] [ROUNDS]`` (``PYTHONPATH=src:.``) serves Kleline's API on a SQLite file as
the payment bench does (2 workers, ``bench.api_server``, 32 customers, 16 keep-alive connections) and makes purse
payments for ``SECONDS`` (default 10), ``ROUNDS`` times (default 3). Each worker counts, for every write
transaction, the time from taking the lock between processes (``WritersQueue.lock_file``) to giving it back
(``leave``): wall time and the thread's CPU time. Printed per round: payments per second, and per worker the write
transactions, the share of the round it held the lock, and the wall and CPU time of one turn.

Why it matters: SQLite has one writer at a time, and on this bench the two workers together hold the lock about
85 % of the time, so a payment's rate is about one over the time its two transactions hold it. The turn's wall time
exceeds its CPU time by what the writer waits for the interpreter's lock: every SQLite step gives it up to the
process's other threads and must take it back.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["create_app", "main"]

_COUNTS = "KLELINE_BENCH_TURNS_DIR"


def create_app() -> Any:
    """Kleline's API, with this worker's write turns counted into ``$KLELINE_BENCH_TURNS_DIR/<pid>``."""
    from kleline.api.main import app_from_environment
    from kleline.db import writers

    counted = {"turns": 0, "wall": 0.0, "cpu": 0.0}
    began = threading.local()
    lock_file, leave = writers.WritersQueue.lock_file, writers.WritersQueue.leave

    def locked(self: writers.WritersQueue, deadline: float) -> None:
        lock_file(self, deadline)
        began.wall, began.cpu = time.perf_counter(), time.thread_time()

    def left(self: writers.WritersQueue) -> None:
        counted["turns"] += 1  # one writer at a time: the turn itself guards these
        counted["wall"] += time.perf_counter() - began.wall
        counted["cpu"] += time.thread_time() - began.cpu
        leave(self)

    writers.WritersQueue.lock_file, writers.WritersQueue.leave = locked, left  # type: ignore[method-assign]
    path = Path(os.environ[_COUNTS], str(os.getpid()))

    def publish() -> None:
        while True:
            time.sleep(0.25)
            path.write_text(f"{counted['turns']} {counted['wall']} {counted['cpu']}")

    threading.Thread(target=publish, name="bench-turns", daemon=True).start()
    return app_from_environment()


def _read(folder: Path) -> dict[str, list[float]]:
    counts = {p.name: p.read_text().split() for p in folder.iterdir()}
    return {pid: [float(x) for x in values] for pid, values in counts.items() if values}


def main(seconds: float, rounds: int) -> None:
    from bench import api_server
    from bench.databases import migrated_sqlite
    from bench.http_load import Plan, run_round
    from bench.payments_shop import HOST, SCA, open_shop

    with tempfile.TemporaryDirectory(prefix="kleline-bench-") as directory:
        url = migrated_sqlite(Path(directory, "kleline.db"))
        shop = open_shop(url, 32)
        counts = Path(directory, "turns")
        counts.mkdir()
        environment = {
            **os.environ,
            "KLELINE_DATABASE_URL": url,
            "KLELINE_SCA_CUMULATIVE_LIMIT": str(SCA["sca_cumulative_limit"]),
            "KLELINE_SCA_MAX_PAYMENTS": str(SCA["sca_max_payments"]),
            _COUNTS: str(counts),
        }
        port = api_server.free_port(HOST)
        server = api_server.start(HOST, port, 2, environment, "bench.sqlite_turns:create_app")
        try:
            plan = Plan("purse", HOST, port, 16, 2.0, shop.merchant_key, shop.customer_tokens, shop.payment_id)
            run_round(plan)  # warm-up
            for _ in range(rounds):
                time.sleep(0.6)
                before = _read(counts)
                result = run_round(Plan(**{**plan.__dict__, "seconds": seconds}))
                time.sleep(0.6)
                line = [f"{result.succeeded_total / seconds:6.0f} payments/s ({result.errors} errors)"]
                for pid, (turns, wall, cpu) in sorted(_read(counts).items()):
                    turns0, wall0, cpu0 = before.get(pid, [0.0, 0.0, 0.0])
                    n = max(1.0, turns - turns0)
                    line.append(
                        f"worker {pid}: {n:5.0f} turns, lock held {100 * (wall - wall0) / seconds:3.0f} % of the "
                        f"round, a turn {1e6 * (wall - wall0) / n:5.0f} us wall, {1e6 * (cpu - cpu0) / n:5.0f} us CPU"
                    )
                print(";  ".join(line), flush=True)
        finally:
            api_server.stop(server)


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0, int(sys.argv[2]) if len(sys.argv) > 2 else 3)
