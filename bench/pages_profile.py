"""Where a shopper page's CPU goes: the worker's Python profile while one page is asked for under load.

``python -m bench.pages_profile [PATH] [SECONDS] [CONNECTIONS]`` (``PYTHONPATH=src``, defaults ``/wallet``, 10, 8)
migrates a fresh PostgreSQL database, makes the pages bench's world (customers with 200 movements each), serves
Kleline in this process (one uvicorn worker, access logs off) with a ``cProfile`` profiler in every thread
(``bench.payments_profile.ThreadProfiles``), signs the customers in through the form, and asks for ``PATH`` for
``SECONDS``. Printed: the top functions by own and by cumulative time, in µs per page (cProfile inflates small
Python calls: read it for the shares, not the absolute figures). The database is dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
import sys
import time

import psycopg

from bench.http_load import Plan, run_round
from bench.ledger_postgres import ADMIN_URL
from bench.pages import _signed_in, _world
from bench.payments_profile import _table, serve_profiled
from bench.payments_shop import HOST


def main(path: str, seconds: float, connections: int) -> None:
    name = f"kleline_profile_{secrets.token_hex(4)}"
    url = f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        emails = _world(url)
        os.environ.update(KLELINE_DATABASE_URL=url)
        server, thread, port, profiles = serve_profiled()
        cookies = tuple(_signed_in(port, email) for email in emails)
        plan = Plan("page", HOST, port, connections, 2.0, cookies=cookies, path=path)
        run_round(plan)  # warm-up
        profiles.clear()
        began = time.process_time()
        result = run_round(Plan(**{**plan.__dict__, "seconds": seconds}))
        stats = profiles.stop()
        cpu = time.process_time() - began
        pages = max(1, result.completed)
        server.should_exit = True
        thread.join(timeout=30)
        print(
            f"{pages} pages of {path} in {seconds:g} s over {connections} connections ({result.errors} errors); "
            f"this process (server + profiler): {1e6 * cpu / pages:.0f} µs CPU per page\n"
        )
        print(_table(stats, "tottime", pages, 45, "page"))
        print(_table(stats, "cumtime", pages, 90, "page"))
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    arguments = sys.argv[1:]
    main(
        arguments[0] if arguments else "/wallet",
        float(arguments[1]) if len(arguments) > 1 else 10.0,
        int(arguments[2]) if len(arguments) > 2 else 8,
    )
