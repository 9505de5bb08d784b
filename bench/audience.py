"""An audience estimate over ``CUSTOMERS`` customers and ``PAYMENTS`` payments on PostgreSQL, beside the plain SQL
count of the same filter, measured side by side.

The world, in a database the bench creates and drops: ``MERCHANTS`` approved shops (made through the services) in
``MALLS`` malls and a few categories; then, set-based (``generate_series``), the customers, their consents'
current state (most consent to offers over a category or a mall, a part of them to audience statistics) and the
payments, spread over 400 days and all the shops, a twentieth of them half refunded.

Each round times, in alternating order, the service call (``Audiences.estimate``: its transaction, the budget's
conditional UPDATE, the one ``COUNT``, OpenDP's noise, the release's record and the COMMIT) and the plain statement
alone (``audience_store.count_sql``, the same text and parameters, on a psycopg connection of its own in autocommit);
the figures are the medians of the rounds. Two filters are shown (consent only; purchases: category, spend band and
recency); the target is on the second, the heavier: ``audience-estimate``, the service's time over the statement's,
goal at most 2x.
"""

from __future__ import annotations

import os
import time

import psycopg

from bench.common import PHASES, Report, Slowdown, section
from bench.databases import migrated_postgres
from bench.payments_shop import IBAN
from kleline.bootstrap import build
from kleline.config import load_settings
from kleline.merchants import store as merchant_store
from kleline.privacy import audience_store
from kleline.privacy.audience_model import Audience
from kleline.privacy.audiences import offer_scopes
from kleline.staff.actor import command_line

CUSTOMERS = int(os.environ.get("KLELINE_BENCH_AUDIENCE_CUSTOMERS", "30000"))
PAYMENTS = int(os.environ.get("KLELINE_BENCH_AUDIENCE_PAYMENTS", "1000000"))
ROUNDS = int(os.environ.get("KLELINE_BENCH_AUDIENCE_ROUNDS", "21"))
MALLS = 4
MERCHANTS = 40
CATEGORIES = ("books", "music", "toys", "clothing", "home")
DAY_US = 86_400_000_000


def _world(url: str) -> str:
    """Fill the migrated database; the id of the merchant whose audiences are estimated."""
    kleline = build(load_settings(database_url=url))
    try:
        actor = command_line()
        malls = [kleline.malls.create(f"Galerie {n}", f"galerie-{n}", actor=actor).id for n in range(MALLS)]
        merchants = []
        for n in range(MERCHANTS):
            registered, _ = kleline.merchants.register(
                name=f"Boutique {n}",
                email=f"shop{n}@bench.example",
                iban=IBAN,
                category=CATEGORIES[n % len(CATEGORIES)],
                mall_ids=[malls[n % MALLS]],
            )
            merchants.append(kleline.merchants.approve(registered.id, actor=actor).id)
        now = int(time.time() * 1_000_000)
        began = time.perf_counter()
        with kleline.db.transaction() as tx:
            tx.execute(
                # Customers with no personal data: an audience never reads it (a distinct blind index each).
                "INSERT INTO customers (id, email_index, password_hash, created_at) "
                "SELECT 'cus_bench' || n, 'bench-' || n, 'x', :now "
                "FROM generate_series(1, :customers) AS n",
                {"now": now, "customers": CUSTOMERS},
            )
            # Offers: 3 in 5 over a category (in turn), 1 in 4 over a mall; statistics: 7 in 10.
            tx.execute(
                "INSERT INTO consent_state (customer_id, purpose, scope, granted, text_version, event_id, changed_at) "
                "SELECT 'cus_bench' || n, 'offers', 'category:' || (CAST(:categories AS TEXT[]))[1 + n % 5], "
                "n % 5 < 3, 'offers-v1/en', 'cns_bench_o' || n, :now FROM generate_series(1, :customers) AS n",
                {"now": now, "customers": CUSTOMERS, "categories": list(CATEGORIES)},
            )
            tx.execute(
                "INSERT INTO consent_state (customer_id, purpose, scope, granted, text_version, event_id, changed_at) "
                "SELECT 'cus_bench' || n, 'offers', 'mall:' || (CAST(:malls AS TEXT[]))[1 + (n / 4) % 4], TRUE, "
                "'offers-v1/en', 'cns_bench_m' || n, :now FROM generate_series(1, :customers) AS n WHERE n % 4 = 1",
                {"now": now, "customers": CUSTOMERS, "malls": malls},
            )
            tx.execute(
                "INSERT INTO consent_state (customer_id, purpose, scope, granted, text_version, event_id, changed_at) "
                "SELECT 'cus_bench' || n, 'audience_statistics', '', n % 10 < 7, 'audience-statistics-v1/en', "
                "'cns_bench_s' || n, :now FROM generate_series(1, :customers) AS n",
                {"now": now, "customers": CUSTOMERS},
            )
            tx.execute("SELECT setseed(0.15)")  # the same world every run
            tx.execute(
                "INSERT INTO payments (id, merchant_id, customer_id, amount, currency, status, method, capture_method, "
                "fee_bps, amount_authorized, amount_captured, amount_refunded, created_at, updated_at) "
                "SELECT 'pay_bench' || n, (CAST(:merchants AS TEXT[]))[m], 'cus_bench' || c, a, 'EUR', 'succeeded', "
                "'purse', 'automatic', 350, a, a, CASE WHEN n % 20 = 0 THEN a / 2 ELSE 0 END, t, t "
                "FROM (SELECT n, 1 + floor(random() * :merchant_count)::int AS m, "
                "1 + floor(random() * :customers)::int AS c, 100 + floor(random() * 15000)::bigint AS a, "
                ":now - floor(random() * 400 * :day)::bigint AS t FROM generate_series(1, :payments) AS n) AS s",
                {
                    "merchants": merchants,
                    "merchant_count": MERCHANTS,
                    "customers": CUSTOMERS,
                    "now": now,
                    "day": DAY_US,
                    "payments": PAYMENTS,
                },
            )
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("VACUUM ANALYZE")
        print(f"  {CUSTOMERS} customers, {PAYMENTS} payments made in {time.perf_counter() - began:.0f} s", flush=True)
        return merchants[0]
    finally:
        kleline.close()


def _measure(report: Report, url: str, merchant_id: str, label: str, audience: Audience) -> tuple[float, float]:
    """Median milliseconds of the service's estimate and of the plain count, rounds interleaved."""
    kleline = build(load_settings(database_url=url, audience_monthly_budget_milli=1_000_000))
    try:
        with kleline.db.transaction(write=False) as tx:
            merchant = merchant_store.find_merchant(tx, merchant_id)
            assert merchant is not None
            scopes = offer_scopes(tx, merchant)
        sql, params = audience_store.count_sql(scopes, audience, kleline.clock())
        plain_sql = kleline.db.sql(sql)
        service: list[float] = []
        plain: list[float] = []
        counts = set()
        with psycopg.connect(url, autocommit=True) as connection:

            def count() -> None:
                began = time.perf_counter()
                counts.add(connection.execute(plain_sql, params).fetchone()[0])  # type: ignore[index]
                plain.append((time.perf_counter() - began) * 1000)

            def estimate() -> None:
                began = time.perf_counter()
                kleline.audiences.estimate(merchant_id, audience)
                service.append((time.perf_counter() - began) * 1000)

            count()  # warm both (the plan, the pages) before the rounds
            estimate()
            service.clear()
            plain.clear()
            for index in range(ROUNDS):
                for work in (count, estimate) if index % 2 else (estimate, count):
                    work()
            PHASES.add((sum(service) + sum(plain)) / 1000)
    finally:
        kleline.close()
    print(f"  {label}: {counts.pop()} members (exact, never shown)", flush=True)
    ours = report.figure(f"estimate, {label}", service, "ms")
    reference = report.figure(f"plain SQL count, {label}", plain, "ms")
    return ours, reference


def run(report: Report) -> None:
    """The audience estimate vs the plain SQL count of its filter, PostgreSQL."""
    section(
        f"Audience estimate, PostgreSQL: {CUSTOMERS} customers, {PAYMENTS} payments; Audiences.estimate vs the plain "
        f"SQL COUNT of the same filter, {ROUNDS} interleaved rounds, medians"
    )
    with migrated_postgres("kleline_bench_audience") as (_name, url):
        merchant_id = _world(url)
        _measure(report, url, merchant_id, "consent only", Audience())
        heavy = Audience(category="books", spend="200_to_1000", recency="30_days")
        ours, reference = _measure(report, url, merchant_id, "books, 200-1000 EUR, last 30 days", heavy)
        ratio = ours / reference
        print(f"  {'ratio audience-estimate (time over the plain count)':<58} {ratio:>12.2f}x", flush=True)
        report.targets.append(Slowdown("audience-estimate", ratio, 2.0))
