"""The payment API under load: purse payments over HTTP beside a trivial JSON endpoint of the same server, same run.

The server is uvicorn's multiprocess supervisor with 2 workers running ``kleline.api.main:app_from_environment``
(what ``kleline serve --workers 2`` runs, with TCP_NODELAY on its connections: see ``bench.api_server``) on a
fresh, migrated PostgreSQL database, listening on a free loopback port; the load generator (``bench.http_load``)
is a second process with keep-alive connections. Rounds alternate between the workloads, and the figures are
medians of the rounds:

- the reference: ``GET /health/live``, a static ``{"status": "ok"}`` without the database;
- for scale, ``GET /v1/payments/{id}`` with the merchant's key: an authenticated read of one payment, what any
  API call costs before its own work;
- a purse payment as a shop and its customer make it: ``POST /v1/payments`` (merchant key), then
  ``POST /v1/payments/{id}/confirm`` ``{"method": "purse"}`` (customer token), both with an ``Idempotency-Key``;
  automatic capture, so the confirmation holds the purse, captures, splits the commission, writes the events and
  signs the receipt. A payment counts when its confirmation answers ``succeeded``.

Strong authentication: payments of 1 to 5 EUR are under the single-payment exemption (30 EUR), and the
cumulative and count ceilings are lifted (``KLELINE_SCA_CUMULATIVE_LIMIT``, ``KLELINE_SCA_MAX_PAYMENTS``) so that
every payment is exempt: configuration of the measured path (a challenge needs a person), not of the reference.
Access logs are off: they cost the same per request on both sides and would flatter the ratio.

Each workload also shows where the CPU went (server workers, PostgreSQL's backends, the load generator: see
``bench.usage``), so that a missed target can be read off the output. Afterwards the bench checks its figures:
the payments the database holds as ``succeeded`` are exactly those the clients saw succeed, for the same total;
the books balance; the merchant's balance is what was captured less the commission.
"""

from __future__ import annotations

import functools
import os
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import psycopg

from bench import api_server, usage
from bench.common import ROUNDS, Report, section
from bench.http_load import Connection, Plan, run_round
from bench.ledger_postgres import ADMIN_URL, SECONDS
from bench.usage import Measured
from kleline.bootstrap import Kleline, build, open_system_accounts
from kleline.config import load_settings
from kleline.db.engine import Database
from kleline.db.migrate import upgrade
from kleline.ledger import EntryRequest, NormalSide, credit, debit
from kleline.ledger.audit import trial_balance
from kleline.merchants.model import balance_account
from kleline.money import Money
from kleline.operators.service import create_key
from kleline.payments.model import PaymentRequest, commission
from kleline.wallet.customers import purse_code

HOST = "127.0.0.1"
WORKERS = 2
CUSTOMERS = int(os.environ.get("KLELINE_BENCH_CUSTOMERS", "200"))
CONNECTIONS = int(os.environ.get("KLELINE_BENCH_CONNECTIONS", "16"))
PASSWORD = "correct horse battery staple"
PURSE = 10_000_000  # cents in each purse: far more than a run spends
SCA = {"sca_cumulative_limit": 10**12, "sca_max_payments": 10**9}
FUNDING_ACCOUNT = "card:visa:receivable"
IBAN = "FR1420041010050500013M02606"
KINDS = ("live", "read", "purse")  # the order of each round


@dataclass(frozen=True)
class Shop:
    """What the load needs: the merchant's key and id, the customers' tokens, an operator key for the checks."""

    merchant_id: str
    merchant_key: str
    customer_tokens: tuple[str, ...]
    operator_key: str
    payment_id: str  # one waiting payment, for the authenticated read


def _admin(sql: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        connection.execute(sql)


def _open_shop(kleline: Kleline) -> Shop:
    """An operator, an approved merchant with its key, and CUSTOMERS signed-in customers with funded purses."""
    open_system_accounts(kleline)
    kleline.ledger.open_account(FUNDING_ACCOUNT, "EUR", NormalSide.DEBIT)
    operator = create_key(kleline.db, "bench").secret
    merchant, key = kleline.merchants.register(name="Bench Boutique", email="shop@bench.example", iban=IBAN)
    kleline.merchants.approve(merchant.id)

    def customer(index: int) -> str:
        email = f"shopper{index}@bench.example"
        found = kleline.customers.sign_up(email, PASSWORD, f"Shopper {index}")
        purse = Money(PURSE, "EUR")
        kleline.ledger.post(
            EntryRequest(
                f"fund-{found.id}",
                (debit(FUNDING_ACCOUNT, purse), credit(purse_code(found.id), purse)),
                "purse top-up by card",
            )
        )
        return kleline.customers.sign_in(email, PASSWORD).token

    # Argon2 makes sign-up and sign-in slow on purpose; it releases the GIL, so threads share the cores.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        tokens = tuple(pool.map(customer, range(CUSTOMERS)))
    waiting = kleline.payments.create(merchant.id, PaymentRequest(Money(1000, "EUR"), reference="bench-read"))
    return Shop(merchant.id, key, tokens, operator, waiting.id)


def _check(url: str, shop: Shop, port: int, succeeded: int, amount: int) -> None:
    """The database agrees with the clients, and the books with themselves."""
    connection = Connection(HOST, port)
    status, body = connection.request(
        "GET", "/v1/ledger/trial-balance", f"Authorization: Bearer {shop.operator_key}\r\n".encode()
    )
    connection.close()
    assert status == 200 and b'"balanced":true' in body, f"trial balance over the API: {status} {body[:300]!r}"
    db = Database(url)
    try:
        assert trial_balance(db).balanced, "the benchmark left unbalanced books"
        with db.transaction(write=False) as tx:
            rows = tx.fetchall(
                "SELECT amount_captured, fee_bps FROM payments WHERE status = 'succeeded' AND merchant_id = :m",
                {"m": shop.merchant_id},
            )
        captured = sum(int(row[0]) for row in rows)
        net = sum(int(row[0]) - commission(int(row[0]), 0, int(row[1])) for row in rows)
        assert len(rows) == succeeded, f"{len(rows)} payments succeeded in the database, the clients saw {succeeded}"
        assert captured == amount, f"{captured} cents captured in the database, the clients paid {amount}"
        kleline = build(load_settings(database_url=url, **SCA))
        try:
            merchant_balance = kleline.ledger.balance(balance_account(shop.merchant_id)).posted
        finally:
            kleline.close()
        assert merchant_balance == net, f"merchant balance {merchant_balance}, captured less commission {net}"
    finally:
        db.dispose()
    print(
        f"  checks: {succeeded:,} payments succeeded in the database, as the clients counted, for {amount:,} cents;"
        " the books balance; the merchant holds what was captured less the commission",
        flush=True,
    )


def _describe(name: str, rounds: list[Measured], report: Report, unit: str) -> float:
    cores = os.cpu_count() or 1
    rate = report.figure(name, [m.rate for m in rounds], unit)
    report.figure("  p50 latency", [m.latency(0.50) for m in rounds], "µs")
    report.figure("  p99 latency", [m.latency(0.99) for m in rounds], "µs")
    report.figure("  CPU per operation: server workers", [m.per_operation(sum(m.server_cpu)) for m in rounds], "µs")
    report.figure("  CPU per operation: PostgreSQL", [m.per_operation(m.database_cpu) for m in rounds], "µs")
    report.figure(
        "  database connections opened per 1,000 operations",
        [1000 * m.sessions / (m.rate * m.elapsed) if m.rate else 0.0 for m in rounds],
        "",
    )
    report.figure("  CPU per operation: load generator", [m.per_operation(m.result.client_cpu) for m in rounds], "µs")
    report.figure(
        "  load generator's CPU (% of one core)", [100 * m.result.client_cpu / m.elapsed for m in rounds], "%"
    )
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


def run(report: Report) -> None:
    cores = os.cpu_count()
    section(
        f"Payment API over HTTP: purse payments vs GET /health/live, same server ({WORKERS} uvicorn workers, "
        f"PostgreSQL), load generator in another process, {CONNECTIONS} keep-alive connections, {cores} cores"
    )
    print(
        f"  configuration: every payment is exempt from strong authentication (1-5 EUR, under the 30 EUR single "
        f"limit; KLELINE_SCA_CUMULATIVE_LIMIT={SCA['sca_cumulative_limit']}, "
        f"KLELINE_SCA_MAX_PAYMENTS={SCA['sca_max_payments']}); {CUSTOMERS} customers\n"
        "  server: access logs off; TCP_NODELAY on its connections, which uvicorn --workers N forgets "
        "(bench/api_server.py)",
        flush=True,
    )
    busy = usage.busy_share(1.0)
    if busy > 0.1:
        print(f"  warning: the machine was {100 * busy:.0f}% busy before the run: other work skews these figures")
    name = f"kleline_bench_api_{secrets.token_hex(4)}"
    url = f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    _admin(f'CREATE DATABASE "{name}"')
    server = None
    try:
        db = Database(url)
        upgrade(db)
        db.dispose()
        began = time.perf_counter()
        kleline = build(load_settings(database_url=url, **SCA))
        try:
            shop = _open_shop(kleline)
        finally:
            kleline.close()
        print(f"  (set-up: merchant and {CUSTOMERS} customers in {time.perf_counter() - began:.0f} s)", flush=True)
        port = api_server.free_port(HOST)
        environment = {
            "KLELINE_DATABASE_URL": url,
            "KLELINE_SCA_CUMULATIVE_LIMIT": str(SCA["sca_cumulative_limit"]),
            "KLELINE_SCA_MAX_PAYMENTS": str(SCA["sca_max_payments"]),
        }
        server = api_server.start(HOST, port, WORKERS, environment)
        workers = api_server.workers_of(server)
        side = functools.partial(usage.database, ADMIN_URL, name)

        def plan(kind: str, seconds: float) -> Plan:
            return Plan(
                kind, HOST, port, CONNECTIONS, seconds, shop.merchant_key, shop.customer_tokens, shop.payment_id
            )

        succeeded, amount = 0, 0
        for kind in KINDS:  # warm-up: both workers' caches, the planner's statistics
            warm = run_round(plan(kind, 1.0))
            succeeded, amount = succeeded + warm.succeeded_total, amount + warm.amount_total
        figures: dict[str, list[Measured]] = {kind: [] for kind in KINDS}
        for _ in range(ROUNDS):
            for kind in KINDS:
                measured = usage.measure(plan(kind, SECONDS), workers, side)
                figures[kind].append(measured)
                succeeded += measured.result.succeeded_total
                amount += measured.result.amount_total
        trivial = _describe("GET /health/live (trivial JSON endpoint)", figures["live"], report, "requests/s")
        read = _describe(
            "GET /v1/payments/{id} (merchant key: authenticated read)", figures["read"], report, "requests/s"
        )
        paid = _describe("purse payment (create + confirm, automatic capture)", figures["purse"], report, "payments/s")
        report.ratio("authenticated read / trivial endpoint", read, trivial)
        report.ratio("payments-api", paid, trivial, goal=0.3)
        _check(url, shop, port, succeeded, amount)  # every load process has ended: nothing is in flight
    finally:
        if server is not None:
            api_server.stop(server)
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
