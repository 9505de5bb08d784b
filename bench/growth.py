"""Kleline's growth page under load: ``GET /console/growth`` (the twelve months to this one: the report, its charts
drawn and its tables) over a year of data beside the trivial endpoint of the same server, rounds alternating; the
figures are medians of the rounds.

Server: ``kleline serve --workers 2`` (``bench.api_server``) on a fresh, migrated PostgreSQL database; the load
generator (``bench.http_load``) is a process of its own with keep-alive connections, each a browser of a staff user
in the support role (the page needs only the ``read`` power), signed in over HTTP as a person does: the console's
sign-in form, then the authenticator's code; ``PAGE`` and ``MARKER`` name what is measured. The charts' images are
not asked for: a browser keeps them (their address names their figures) and the page draws them anyway.

The world: the demo's network (shops, customers paying them) scaled to a year of the seed's 10 % a month:
``MERCHANTS`` merchants and ``CUSTOMERS`` customers at the year's end, each count growing 10 % a month (about a third
of them there at its start), and ``PAYMENTS`` card payments over the ``DAYS`` days, each day's count growing as fast,
of 5 to 150 EUR at 3.5 % to a merchant and from a customer both there that day, one in twenty partly refunded three
days later. Merchants are registered and approved through their service (on the day they join); customers and
payments are written in bulk: customers as rows (one password hash for all: Argon2 would take minutes; no purse is
opened, as ``Customers.purse`` allows, and no card row made: the report reads neither), each day's captures and
refunds through the ledger's batch (``Ledger.post_batch_in``: balanced, chained, balances updated, as every entry)
in the same transaction as their payment and refund rows (``bench.dashboard_overview._day``), a week's days in one
transaction. The set-up then checks that the books balance and that the report's payments are the journal's
captures, month by month.

Before the rounds, the first report is timed alone: it keeps the closed days of the year (one row per day) once.

Target: ``growth-page``, the report's rate over the trivial endpoint's, goal 0.2x.
"""

from __future__ import annotations

import bisect
import functools
import math
import os
import random
import re
import time
from contextlib import ExitStack
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Final

import httpx
import psycopg
import pyotp

from bench import usage
from bench.common import Report, section
from bench.dashboard_overview import _Clock, _day, _payment
from bench.databases import migrated_postgres
from bench.http_load import Plan
from bench.ledger_postgres import ADMIN_URL, SECONDS
from bench.payments_api import WORKERS, Workload, _describe, _rounds, _serving
from bench.payments_shop import HOST, IBAN
from kleline.bootstrap import Kleline, build
from kleline.clock import epoch_us
from kleline.config import load_settings
from kleline.ids import new_id
from kleline.ledger.audit import trial_balance
from kleline.payments.model import Payment
from kleline.payments.postings import capture_entry_id
from kleline.reports.growth_figures import GrowthReport, month_bounds, paris_month
from kleline.staff.actor import command_line
from kleline.staff.roles import Role
from kleline.wallet import store
from kleline.wallet.customers import hash_password
from kleline.wallet.model import Customer
from kleline.wallet.personal_data import email_index, new_customer_key, seal_field, search_tokens

__all__ = ["run"]

CONNECTIONS = int(os.environ.get("KLELINE_BENCH_CONNECTIONS", "16"))
PAYMENTS = int(os.environ.get("KLELINE_BENCH_GROWTH_PAYMENTS", "100000"))
MERCHANTS = 100
CUSTOMERS = 30_000
DAYS = 365
MONTHLY: Final = 1.1  # the seed's growth
REFUND_EVERY = 20
CARD = "card_bench"  # the payments' card: a payment names its card, the books only its network
PAGE: Final = "/console/growth"
"""What is measured: the console's growth page, the twelve months to this one."""
MARKER: Final = b'id="chart-growth"'
"""What a complete answer holds (the last chart's section)."""
STAFF_EMAIL: Final = "support@bench.example"
STAFF_PASSWORD: Final = "correct horse battery staple, for the staff"
_CSRF: Final = re.compile(r'name="csrf_token" value="([^"]+)"')
_MONTH_DAYS: Final = 365.25 / 12


def _joined(total: int, days: int) -> list[float]:
    """When each of ``total`` members joined, in days from the start: a third there at the start, then the count
    growing 10 % a month to ``total`` after ``days`` days."""
    months = days / _MONTH_DAYS
    there = math.ceil(total / MONTHLY**months)
    later = [months - math.log(total / k, MONTHLY) for k in range(there + 1, total + 1)]
    return [0.0] * there + [month * _MONTH_DAYS for month in later]


def _per_day(total: int, days: int) -> list[int]:
    """``total`` spread over ``days`` days, each day's share growing 10 % a month."""
    weights = [MONTHLY ** (day / _MONTH_DAYS) for day in range(days)]
    shares = [int(total * w / sum(weights)) for w in weights]
    shares[-1] += total - sum(shares)
    return shares


def _customers(kleline: Kleline, start: datetime) -> list[tuple[float, str]]:
    """``CUSTOMERS`` customers as rows, on the days they join; (joined, id) each.

    The first through the wallet's store, which seals each customer's email and name under its own key, as sign-up
    does; the others as the same rows by ``COPY`` (the customer, its wrapped data key, its search tokens: about forty
    a customer), sealed by the same functions: the store's three statements per customer, 30,000 times, were most of
    the bench's set-up. Then a check that every row has the first's shape and that a sample opens to its own data."""
    password = hash_password("correct horse battery staple")
    joined = [(when, new_id("cus")) for when in _joined(CUSTOMERS, DAYS)]
    keys = kleline.customers.keys
    people = [
        Customer(customer, f"customer{n}@bench.example", f"Customer {n}", "unverified", start + timedelta(days=when))
        for n, (when, customer) in enumerate(joined)
    ]
    rows: list[str] = []
    held: list[str] = []
    tokens: list[str] = []
    for person in people[1:]:
        key, at = new_customer_key(keys), epoch_us(person.created_at)
        email = _bytea(seal_field(key.key, person.id, "email", person.email))
        name = _bytea(seal_field(key.key, person.id, "name", person.name))
        index = email_index(person.email, keys.index_key)
        rows.append(f"{person.id}\t{index}\t{email}\t{name}\t{password}\t{person.kyc_level}\t{at}")
        held.append(f"{person.id}\t{key.key_id}\t{_bytea(key.wrapped_key)}\t{at}")
        tokens.extend(
            f"{token}\t{person.id}" for token in sorted(search_tokens(person.email, person.name, keys.index_key))
        )
    with kleline.db.transaction() as tx:
        first = people[0]
        store.insert_customer(tx, first, password, epoch_us(first.created_at), keys)
        tx.copy_in(
            "customers (id, email_index, email_sealed, name_sealed, password_hash, kyc_level, created_at)", _lines(rows)
        )
        tx.copy_in("customer_keys (customer_id, key_id, wrapped_key, created_at)", _lines(held))
        # In the primary key's order: its b-tree then grows at one end instead of splitting pages everywhere.
        tx.copy_in("customer_search_tokens (token, customer_id)", _lines(sorted(tokens)))
    _check_customers(kleline, people)
    return joined


def _bytea(value: bytes) -> str:
    """Bytes in ``COPY``'s text format."""
    return "\\\\x" + value.hex()


def _lines(rows: list[str]) -> str:
    assert not any("\n" in row or "\r" in row for row in rows)
    return "\n".join(rows) + "\n"


def _check_customers(kleline: Kleline, people: list[Customer]) -> None:
    """Every customer's row and data key as the store's first (but for what tells one customer from another), as
    many search tokens each as the store wrote for it, and a sample that opens to its own email and name."""
    keys = kleline.customers.keys
    with kleline.db.transaction(write=False) as tx:
        shapes = tx.fetchone(
            "SELECT COUNT(*), COUNT(DISTINCT to_jsonb(c) - 'id' - 'email_index' - 'email_sealed' - 'name_sealed' "
            "- 'created_at'), COUNT(DISTINCT to_jsonb(k) - 'customer_id' - 'wrapped_key' - 'created_at') "
            "FROM customers c JOIN customer_keys k ON k.customer_id = c.id"
        )
        assert tuple(int(v) for v in shapes) == (len(people), 1, 1), shapes
        counts = tx.fetchall(
            "SELECT customer_id, COUNT(*) FROM customer_search_tokens WHERE customer_id IN (:a, :b) GROUP BY 1",
            {"a": people[0].id, "b": people[-1].id},
        )
        for person, count in ((p, dict(counts).get(p.id)) for p in (people[0], people[-1])):
            assert count == len(search_tokens(person.email, person.name, keys.index_key)), (person.id, count)
        sample = people[:: len(people) // 50]
        found = {row.customer.id: row.customer for row in store.find_customers(tx, [p.id for p in sample], keys)}
    assert all(found[p.id] == p for p in sample), "a customer's sealed data does not open to its own"


def _merchants(kleline: Kleline, clock: _Clock, start: datetime) -> list[tuple[float, str]]:
    """``MERCHANTS`` merchants registered and approved through their service, on the days they join."""
    joined = []
    for n, when in enumerate(_joined(MERCHANTS, DAYS)):
        clock.now = start + timedelta(days=when)
        merchant, _ = kleline.merchants.register(name=f"Boutique {n}", email=f"shop{n}@bench.example", iban=IBAN)
        joined.append((when, kleline.merchants.approve(merchant.id, actor=command_line()).id))
    return joined


def _among(members: list[tuple[float, str]], day: int) -> list[str]:
    """The members who joined by the end of ``day`` (``members`` in the order they joined)."""
    return [member for _, member in members[: bisect.bisect_left(members, (day + 1.0, ""))]]


def _sales(kleline: Kleline, clock: _Clock, start: datetime, url: str) -> None:
    """The year's payments, a day at a time (a week's days in one transaction), some refunded three days later."""
    began = time.perf_counter()
    customers = _customers(kleline, start)
    merchants = _merchants(kleline, clock, start)
    print(f"  {CUSTOMERS:,} customers and {MERCHANTS} merchants in {time.perf_counter() - began:.0f} s", flush=True)
    draw = random.Random(13)
    waiting: list[tuple[Payment, int]] = []
    counts = _per_day(PAYMENTS, DAYS)
    for week in range(0, DAYS, 7):
        if week in (7, 28, 91):
            _analyse(url)  # the server runs without autovacuum: plan the batches' reads on statistics
        with kleline.db.transaction() as tx:
            for day in range(week, min(week + 7, DAYS)):
                clock.now = start + timedelta(days=day, hours=12)
                shops, buyers = _among(merchants, day), _among(customers, day)
                made = [
                    _payment(
                        draw.choice(shops), draw.choice(buyers), CARD, draw.randint(500, 15_000), clock.now, "succeeded"
                    )
                    for _ in range(counts[day])
                ]
                due = [(p, amount) for p, amount in waiting if p.created_at <= clock.now - timedelta(days=3)]
                waiting = [w for w in waiting if w not in due] + [
                    (p, p.amount.minor // draw.choice((2, 3, 4))) for p in made[::REFUND_EVERY]
                ]
                _day(kleline, tx, made, due)


def _analyse(url: str) -> None:
    """Gather the planner's statistics, as autovacuum would after such a load."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("ANALYZE")


def _months(now: datetime) -> tuple[str, str]:
    """The twelve months of Paris to ``now``'s."""
    last = first = paris_month(now)
    for _ in range(11):
        first = first.previous()
    return str(first), str(last)


def _check(kleline: Kleline, report: GrowthReport) -> None:
    """The report's payments are the journal's captures, month by month (counted here without the rollup)."""
    with kleline.db.transaction(write=False) as tx:
        for month in report.months:
            start, end = (epoch_us(moment) for moment in month_bounds(month.month))
            row = tx.fetchone(
                "SELECT COUNT(*) FROM ledger_entries WHERE id LIKE :capture AND posted_at >= :s AND posted_at < :e",
                {"capture": "%" + capture_entry_id(""), "s": start, "e": end},
            )
            assert int(row[0]) == month.payments, (month.month, int(row[0]), month.payments)


def _world(url: str) -> tuple[pyotp.TOTP, tuple[str, str]]:
    """In the migrated ``url``, the year; a support user's authenticator, and the months the page shows."""
    end = datetime.now(UTC) - timedelta(minutes=10)
    start = end - timedelta(days=DAYS - 1, hours=12)
    clock = _Clock(start)
    kleline = build(load_settings(database_url=url), clock=clock)
    try:
        began = time.perf_counter()
        _sales(kleline, clock, start, url)
        took = time.perf_counter() - began
        print(
            f"  set-up: {MERCHANTS} merchants, {CUSTOMERS:,} customers, {PAYMENTS:,} payments over {DAYS} days "
            f"in {took:.0f} s",
            flush=True,
        )
        assert trial_balance(kleline.db).balanced, "the set-up left unbalanced books"
        _analyse(url)
        clock.now = datetime.now(UTC)
        months = _months(clock.now)
        began = time.perf_counter()
        report = kleline.growth.report(*months)
        print(f"  first report (the year's closed days kept): {time.perf_counter() - began:.2f} s", flush=True)
        _check(kleline, report)
        print(
            f"  {months[0]} to {months[1]}: {sum(m.payments for m in report.months):,} payments, "
            f"{report.months[-1].active_merchants} merchants and {report.months[-1].customers:,} customers at the "
            "end, each month's payments the journal's captures",
            flush=True,
        )
        return _staff_user(kleline), months
    finally:
        kleline.close()


def _staff_user(kleline: Kleline) -> pyotp.TOTP:
    """A support user (invited from the command line, accepted, its authenticator confirmed): its authenticator."""
    invited = kleline.staff_team.invite(STAFF_EMAIL, Role.SUPPORT, by=command_line())
    session = kleline.staff_team.accept(invited.token, STAFF_PASSWORD)
    assert session.user is not None
    totp = pyotp.TOTP(kleline.staff_sign_in.set_up_authenticator(session.user.id, STAFF_EMAIL).secret)
    kleline.staff_sign_in.confirm_authenticator(session.user.id, totp.now(), by=command_line())
    return totp


def _signed_in(port: int, totp: pyotp.TOTP) -> str:
    """Sign in through the console's form and the code step, as a browser does; the ``Cookie`` header it then sends.
    The code is the authenticator's next one (the set-up's confirmation used the current one, and a code is accepted
    once; Kleline accepts one step ahead for a phone's drift)."""
    with httpx.Client(base_url=f"http://{HOST}:{port}", follow_redirects=False) as client:
        form = client.get("/console/sign-in")
        token = _CSRF.search(form.text)
        assert form.status_code == 200 and token, f"sign-in page: {form.status_code}"
        fields = {"csrf_token": token.group(1), "email": STAFF_EMAIL, "password": STAFF_PASSWORD, "next": PAGE}
        answer = client.post("/console/sign-in", data=fields)
        assert answer.status_code == 303, f"sign-in: {answer.status_code} {answer.text[:300]}"
        step = client.get(answer.headers["location"])
        token = _CSRF.search(step.text)
        assert step.status_code == 200 and token, f"code step: {step.status_code}"
        code = totp.at(datetime.now(UTC) + timedelta(seconds=totp.interval))
        answer = client.post("/console/sign-in/code", data={"csrf_token": token.group(1), "code": code, "next": PAGE})
        assert answer.status_code == 303 and answer.headers["location"] == PAGE, answer.text[:300]
        page = client.get(PAGE)
        assert page.status_code == 200 and MARKER in page.content, f"growth page: {page.status_code}"
        return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


def run(report: Report) -> None:
    """The growth report over a year against ``/health/live`` on PostgreSQL, 2 workers."""
    section(
        f"Growth page over HTTP, PostgreSQL: GET {PAGE} (twelve months of a year with "
        f"{PAYMENTS:,} payments) vs GET /health/live, {WORKERS} workers, {CONNECTIONS} keep-alive connections, "
        f"{os.cpu_count()} cores"
    )
    busy = usage.busy_share(1.0)
    if busy > 0.1:
        print(f"  warning: the machine was {100 * busy:.0f}% busy before the run: other work skews these figures")
    with ExitStack() as stack:
        name, url = stack.enter_context(migrated_postgres("kleline_bench_growth"))
        totp, _ = _world(url)
        side = functools.partial(usage.database, ADMIN_URL, name)
        server = stack.enter_context(_serving({"KLELINE_DATABASE_URL": url}, side, None))
        cookie = _signed_in(server.port, totp)
        base = Plan("page", HOST, server.port, CONNECTIONS, SECONDS, path=PAGE, marker=MARKER, cookies=(cookie,))
        live = Workload("GET /health/live (trivial JSON endpoint)", "requests/s", server, replace(base, kind="live"))
        growth = Workload(f"GET {PAGE} (12 months, charts and tables)", "pages/s", server, base)
        _rounds([live, growth])
        trivial = _describe(live, report, "PostgreSQL")
        rate = _describe(growth, report, "PostgreSQL")
        p99 = sorted(m.latency(0.99) for m in growth.rounds)[len(growth.rounds) // 2] / 1000
        report.ratio(f"growth-page vs /health/live (p99 {p99:.0f} ms at {CONNECTIONS} connections)", rate, trivial)
        report.ratio("growth-page", rate, trivial, goal=0.2)
        print(f"  worker restarts during the rounds: {server.restarts()}", flush=True)
