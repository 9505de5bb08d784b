"""The payment API under load: Kleline's purse payments over HTTP beside the same-stack reference and a trivial
endpoint, in one run, rounds alternating between the workloads; the figures are medians of the rounds.

Servers: ``kleline.cli.serving.run_server``, what ``kleline serve --workers 2`` runs (uvicorn's multiprocess
supervisor, Kleline's worker health check, TCP_NODELAY: see ``bench.api_server``), access logs off, each on a
free loopback port; the load generator (``bench.http_load``) is a process of its own with keep-alive connections.
Kleline runs on a fresh, migrated database; the reference (``bench.reference``: FastAPI, pydantic bodies, a psycopg
pool of Kleline's size, the same two requests as a purse payment, an insert then one transaction that locks the
payment, updates it, updates a balance and writes an entry) runs under the same server, same workers, same
settings, on a database of its own on the same PostgreSQL server. Workloads:

- ``GET /health/live`` of Kleline, a static ``{"status": "ok"}`` without the database: the server's floor;
- for scale, ``GET /v1/payments/{id}`` with the merchant's key: what any authenticated API call costs;
- a purse payment as a shop and its customer make it: ``POST /v1/payments`` (merchant key), then
  ``POST /v1/payments/{id}/confirm`` ``{"method": "purse"}`` (customer token), both with an ``Idempotency-Key``;
  automatic capture, so the confirmation holds the purse, captures, splits the commission, writes the events and
  signs the receipt. It counts when the confirmation answers ``succeeded``;
- the same two requests, with the same headers and bodies, to the reference.

Targets: ``payments-vs-same-stack`` (Kleline's payments over the reference's, goal 0.7x) and ``payments-api``
(over the trivial endpoint, goal 0.1x). Then the same flow on SQLite, Kleline and the reference each on a file of
their own: ``payments-sqlite-vs-same-stack`` (goal 0.7x) and the p99 at 16 connections (goal under 100 ms).

Under load (2x): after the rounds, one more round of Kleline's payments with twice the connections that saturate
the server (the 16 of the rounds keep both cores busy): it must end with no failed request and no worker
replaced, which the bench asserts after printing everything (a saturated worker must queue, not be killed).

Strong authentication: payments of 1 to 5 EUR are under the single-payment exemption (30 EUR), and the
cumulative and count ceilings are lifted so that every payment is exempt: configuration of the measured path (a
challenge needs a person). Each workload also shows where the CPU went (server workers, PostgreSQL's backends, the
load generator: see ``bench.usage``); on SQLite the database works inside the workers. Afterwards the bench checks
Kleline's figures: the database holds as ``succeeded`` exactly the payments the clients saw succeed, for the same
total; the books balance; the merchant's balance is what was captured less the commission.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import psycopg

from bench import api_server, reference, usage
from bench.common import ROUNDS, Ceiling, Report, section
from bench.databases import migrated_postgres, migrated_sqlite
from bench.http_load import Connection, Plan, run_round
from bench.ledger_postgres import ADMIN_URL, SECONDS
from bench.payments_shop import CUSTOMERS, HOST, PURSE, SCA, Shop, check, open_shop
from bench.usage import Measured

WORKERS = 2
CONNECTIONS = int(os.environ.get("KLELINE_BENCH_CONNECTIONS", "16"))
OVERLOAD = 2 * CONNECTIONS
SQLITE_P99_GOAL = 100  # milliseconds
SQLITE_CUSTOMERS = min(CUSTOMERS, 2 * CONNECTIONS)


@dataclass
class Server:
    """A server under test: its process, its workers as they started, where its database's CPU is counted."""

    process: subprocess.Popen[bytes]
    port: int
    workers: list[int]
    side: Callable[[], usage.Database]

    def restarts(self) -> int:
        """Workers that were not there at the start: each replaced a killed or dead one."""
        return len(set(api_server.workers_of(self.process)) - set(self.workers))


@dataclass
class Workload:
    """One workload: its plan, its server, its rounds, and the payments it made (for Kleline's checks)."""

    label: str
    unit: str
    server: Server
    plan: Plan
    rounds: list[Measured] = field(default_factory=list)
    succeeded: int = 0
    amount: int = 0

    def count(self, succeeded: int, amount: int) -> None:
        self.succeeded, self.amount = self.succeeded + succeeded, self.amount + amount


def _no_backends() -> usage.Database:
    """SQLite's side: the database works inside the server's workers, counted there."""
    return usage.Database([], 0)


@contextmanager
def _postgres_database(prefix: str) -> Iterator[tuple[str, str]]:
    """A fresh, empty database on the bench's PostgreSQL server: (name, URL); dropped afterwards (Kleline's own
    come migrated from ``bench.databases``)."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name, f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def _serving(environment: Mapping[str, str], side: Callable[[], usage.Database], app: str | None) -> Iterator[Server]:
    port = api_server.free_port(HOST)
    process = api_server.start(HOST, port, WORKERS, environment, app)
    try:
        yield Server(process, port, api_server.workers_of(process), side)
    finally:
        api_server.stop(process)


def _kleline_environment(url: str) -> dict[str, str]:
    return {
        "KLELINE_DATABASE_URL": url,
        "KLELINE_SCA_CUMULATIVE_LIMIT": str(SCA["sca_cumulative_limit"]),
        "KLELINE_SCA_MAX_PAYMENTS": str(SCA["sca_max_payments"]),
    }


def _reference_plan(url: str, port: int, customers: int = CUSTOMERS) -> Plan:
    """The reference's tables in ``url`` and the plan that pays there, with its own key and tokens."""
    key = f"sk_{secrets.token_urlsafe(24)}"
    tokens = tuple(f"ct_{secrets.token_urlsafe(24)}" for _ in range(customers))
    reference.prepare(url, key, tokens, PURSE)
    return Plan("purse", HOST, port, CONNECTIONS, SECONDS, key, tokens)


def _answer_sizes(workload: Workload) -> str:
    """One payment through ``workload``'s server: the sizes of its two answers."""
    plan, connection = workload.plan, Connection(HOST, workload.plan.port)
    try:
        merchant = f"Authorization: Bearer {plan.merchant_key}\r\nIdempotency-Key: size-{secrets.token_hex(6)}\r\n"
        body = b'{"amount": 100, "currency": "EUR", "reference": "order-size"}'
        status, created = connection.request("POST", "/v1/payments", merchant.encode(), body)
        assert status == 201, f"{workload.label}: {status} {created[:300]!r}"
        customer = (
            f"Authorization: Bearer {plan.customer_tokens[0]}\r\nIdempotency-Key: size-{secrets.token_hex(6)}\r\n"
        )
        path = f"/v1/payments/{json.loads(created)['id']}/confirm"
        status, confirmed = connection.request("POST", path, customer.encode(), b'{"method": "purse"}')
        assert status == 200 and json.loads(confirmed)["status"] == "succeeded", f"{status} {confirmed[:300]!r}"
    finally:
        connection.close()
    workload.count(1, 100)
    return f"{workload.label}: {len(created)} + {len(confirmed)} bytes"


def _rounds(workloads: list[Workload]) -> None:
    """A warm-up of each workload, then ROUNDS rounds, each workload in turn within a round."""
    for workload in workloads:  # both workers' caches, the planner's statistics
        warm = run_round(replace(workload.plan, seconds=1.0))
        workload.count(warm.succeeded_total, warm.amount_total)
    for _ in range(ROUNDS):
        for workload in workloads:
            measured = usage.measure(workload.plan, workload.server.workers, workload.server.side)
            workload.rounds.append(measured)
            workload.count(measured.result.succeeded_total, measured.result.amount_total)


def _describe(workload: Workload, report: Report, database: str | None) -> float:
    rounds, cores = workload.rounds, os.cpu_count() or 1
    rate = report.figure(workload.label, [m.rate for m in rounds], workload.unit)
    report.figure("  p50 latency", [m.latency(0.50) for m in rounds], "µs")
    report.figure("  p99 latency", [m.latency(0.99) for m in rounds], "µs")
    report.figure("  CPU per operation: server workers", [m.per_operation(sum(m.server_cpu)) for m in rounds], "µs")
    if database is not None:
        report.figure(f"  CPU per operation: {database}", [m.per_operation(m.database_cpu) for m in rounds], "µs")
        report.figure(
            "  database connections opened per 1,000 operations",
            [1000 * m.sessions / (m.rate * m.elapsed) if m.rate else 0.0 for m in rounds],
            "",
        )
    report.figure("  CPU per operation: load generator", [m.per_operation(m.result.client_cpu) for m in rounds], "µs")
    report.figure(
        "  busiest worker's share of the workers' CPU",
        [100 * max(m.server_cpu) / sum(m.server_cpu) if sum(m.server_cpu) else 0.0 for m in rounds],
        "%",
    )
    report.figure(
        f"  machine busy (% of {cores} cores, other work included)", [100 * m.machine_busy for m in rounds], "%"
    )
    errors = sum(m.result.errors for m in rounds)
    samples = [sample for m in rounds for sample in m.result.error_samples][:3]
    print(f"  {'  errors (all rounds)':<58} {errors:>12,}" + (f"   e.g. {samples}" if samples else ""), flush=True)
    return rate


def _overload(workload: Workload, report: Report, database: str | None) -> list[str]:
    """A round at twice the saturating connections; what went wrong in it (failed requests, replaced workers)."""
    server = workload.server
    loaded = Workload(f"{workload.label}, {OVERLOAD} connections (2x)", workload.unit, server, workload.plan)
    loaded.plan = replace(workload.plan, connections=OVERLOAD)
    loaded.rounds.append(usage.measure(loaded.plan, server.workers, server.side))
    workload.count(loaded.rounds[0].result.succeeded_total, loaded.rounds[0].result.amount_total)
    _describe(loaded, report, database)
    errors, restarts = loaded.rounds[0].result.errors, server.restarts()
    verdict = "ok" if errors == restarts == 0 else "FAILED"
    print(f"  under load (2x): {errors} failed requests, {restarts} workers replaced: {verdict}", flush=True)
    return [f"{errors} failed requests and {restarts} replaced workers at 2x load"] if verdict != "ok" else []


def _postgres(report: Report) -> list[str]:
    section(
        f"Payment API over HTTP, PostgreSQL: Kleline's purse payments vs the same-stack reference vs GET /health/live "
        f"({WORKERS} workers each, same server and settings), {CONNECTIONS} keep-alive connections, "
        f"{os.cpu_count()} cores"
    )
    with ExitStack() as stack:
        name, url = stack.enter_context(migrated_postgres("kleline_bench_api"))
        shop = open_shop(url)
        reference_name, reference_url = stack.enter_context(_postgres_database("kleline_bench_reference"))
        side = functools.partial(usage.database, ADMIN_URL, name)
        kleline = stack.enter_context(_serving(_kleline_environment(url), side, None))
        reference_side = functools.partial(usage.database, ADMIN_URL, reference_name)
        reference_plan = _reference_plan(reference_url, 0)  # the tables first: each worker loads the credentials
        environment = {"KLELINE_BENCH_REFERENCE_URL": reference_url}
        same_stack = stack.enter_context(_serving(environment, reference_side, reference.APP))
        plan = _plan(shop, kleline.port)
        live = Workload("GET /health/live (trivial JSON endpoint)", "requests/s", kleline, replace(plan, kind="live"))
        read = Workload("GET /v1/payments/{id} (authenticated read)", "requests/s", kleline, replace(plan, kind="read"))
        paid = Workload("Kleline purse payment (create + confirm)", "payments/s", kleline, plan)
        floor = Workload(
            "same-stack reference payment (create + confirm)",
            "payments/s",
            same_stack,
            replace(reference_plan, port=same_stack.port),
        )
        print(f"  answers: {_answer_sizes(paid)}; {_answer_sizes(floor)}", flush=True)
        _rounds([live, read, paid, floor])
        trivial = _describe(live, report, "PostgreSQL")
        _describe(read, report, "PostgreSQL")
        ours = _describe(paid, report, "PostgreSQL")
        theirs = _describe(floor, report, "PostgreSQL")
        print(f"  worker restarts during the rounds: Kleline {kleline.restarts()}, reference {same_stack.restarts()}")
        report.ratio("payments-vs-same-stack", ours, theirs, goal=0.7)
        report.ratio("payments-api", ours, trivial, goal=0.1)
        failures = _overload(paid, report, "PostgreSQL")
        check(url, shop, kleline.port, paid.succeeded, paid.amount)  # every load process has ended
    return failures


def _sqlite(report: Report) -> None:
    section(
        f"Payment API over HTTP, SQLite: Kleline's purse payments vs the same-stack reference, each on a file of its "
        f"own ({WORKERS} workers each, same server and settings), {CONNECTIONS} keep-alive connections"
    )
    with tempfile.TemporaryDirectory(prefix="kleline-bench-") as directory, ExitStack() as stack:
        url, reference_url = migrated_sqlite(Path(directory, "kleline.db")), f"sqlite:///{Path(directory, 'ref.db')}"
        # Fewer customers than on PostgreSQL (chosen when each cost two Argon2 hashes, kept so that the figures
        # compare with earlier runs): two per connection still keep any customer from paying twice at once, and the
        # reference gets as many.
        shop = open_shop(url, SQLITE_CUSTOMERS)
        kleline = stack.enter_context(_serving(_kleline_environment(url), _no_backends, None))
        plan = _reference_plan(
            reference_url, 0, SQLITE_CUSTOMERS
        )  # the tables first: each worker loads the credentials as it starts
        environment = {"KLELINE_BENCH_REFERENCE_URL": reference_url}
        same_stack = stack.enter_context(_serving(environment, _no_backends, reference.APP))
        paid = Workload("Kleline purse payment on SQLite", "payments/s", kleline, _plan(shop, kleline.port))
        floor = Workload(
            "same-stack reference payment on SQLite", "payments/s", same_stack, replace(plan, port=same_stack.port)
        )
        print(f"  answers: {_answer_sizes(paid)}; {_answer_sizes(floor)}", flush=True)
        _rounds([paid, floor])
        ours = _describe(paid, report, None)
        theirs = _describe(floor, report, None)
        print(f"  worker restarts during the rounds: Kleline {kleline.restarts()}, reference {same_stack.restarts()}")
        report.ratio("payments-sqlite-vs-same-stack", ours, theirs, goal=0.7)
        p99 = sorted(m.latency(0.99) for m in paid.rounds)[len(paid.rounds) // 2] / 1000
        report.targets.append(Ceiling(f"payments-sqlite-p99 at {CONNECTIONS} connections", p99, SQLITE_P99_GOAL, "ms"))
        check(url, shop, kleline.port, paid.succeeded, paid.amount)


def _plan(shop: Shop, port: int) -> Plan:
    return Plan("purse", HOST, port, CONNECTIONS, SECONDS, shop.merchant_key, shop.customer_tokens, shop.payment_id)


def run(report: Report) -> None:
    """Both backends: PostgreSQL, then SQLite (even if PostgreSQL failed under load, which is reported at the end)."""
    _configuration()
    failures = _postgres(report)
    _sqlite(report)
    assert not failures, f"under twice the saturating load: {'; '.join(failures)}"


def _configuration() -> None:
    print(
        f"\n  configuration: every Kleline payment is exempt from strong authentication (1-5 EUR, under the 30 EUR "
        f"single limit; KLELINE_SCA_CUMULATIVE_LIMIT={SCA['sca_cumulative_limit']}, "
        f"KLELINE_SCA_MAX_PAYMENTS={SCA['sca_max_payments']}); {CUSTOMERS} customers on PostgreSQL, "
        f"{SQLITE_CUSTOMERS} on SQLite; servers: access logs off, TCP_NODELAY on (bench/api_server.py)",
        flush=True,
    )
    busy = usage.busy_share(1.0)
    if busy > 0.1:
        print(f"  warning: the machine was {100 * busy:.0f}% busy before the run: other work skews these figures")


def run_postgres(report: Report) -> None:
    """The PostgreSQL half alone (``python -m bench payments-postgres``)."""
    _configuration()
    failures = _postgres(report)
    assert not failures, f"under twice the saturating load: {'; '.join(failures)}"


def run_sqlite(report: Report) -> None:
    """The SQLite half alone (``python -m bench payments-sqlite``)."""
    _configuration()
    _sqlite(report)
