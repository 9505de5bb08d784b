"""Where a shopper's or a merchant's page's CPU goes: the worker's Python profile while one page is under load.

``python -m bench.pages_profile [PATH] [SECONDS] [CONNECTIONS]`` (``PYTHONPATH=src``, defaults ``/wallet``, 10, 8)
migrates a fresh PostgreSQL database, makes the pages bench's world (customers with 200 movements each) or, for a
path under ``/dashboard``, the dashboard payments bench's (one merchant with ``KLELINE_BENCH_DASHBOARD_PAYMENTS``
payments and owners with an authenticator app), serves Kleline in this process (one uvicorn worker, access logs
off) with a ``cProfile`` profiler in every thread (``bench.payments_profile.ThreadProfiles``), signs the people in
through the forms, and asks for ``PATH`` for ``SECONDS`` (``{deep}`` in it is the payments bench's deep cursor:
``'/dashboard/payments?cursor={deep}'`` profiles the page deep in the list). Printed: the top functions by own and
by cumulative time, in µs per page (cProfile inflates small Python calls, and counts every resumption of a
template's generator as a call: read it for the shares, not the absolute figures). The database is dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
import sys
import time

import psycopg

from bench import dashboard_payments
from bench.databases import new_postgres
from bench.http_load import Plan, run_round
from bench.ledger_postgres import ADMIN_URL
from bench.pages import _signed_in, _world
from bench.payments_profile import _table, serve_profiled
from bench.payments_shop import HOST


def main(path: str, seconds: float, connections: int) -> None:
    name = f"kleline_profile_{secrets.token_hex(4)}"
    url = f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    new_postgres(name)  # migrated: a clone of the run's template
    try:
        dashboard = path.startswith("/dashboard")
        if dashboard:
            people, deep = dashboard_payments._world(url)
            path = path.replace("{deep}", deep)
        else:
            people = [(email, None) for email in _world(url)]
        os.environ.update(KLELINE_DATABASE_URL=url)
        server, thread, port, profiles = serve_profiled()
        cookies = tuple(
            dashboard_payments._signed_in(port, email, app) if app is not None else _signed_in(port, email)
            for email, app in people
        )
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
