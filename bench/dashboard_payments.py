"""The dashboard's payments list under load: ``GET /dashboard/payments`` for a merchant with ``PAYMENTS`` payments,
its first page and a page deep in the list (reached by a cursor, as the "Older" link gives it), beside the trivial
endpoint of the same server, rounds alternating between the three; the figures are medians of the rounds.

Server: ``kleline serve --workers 2`` (``bench.api_server``) on a fresh, migrated PostgreSQL database; the load
generator (``bench.http_load``) is a process of its own with keep-alive connections. Each connection is one browser
of one of ``USERS`` owners of the shop, each signed in through the dashboard's forms with a password and a code of
its authenticator app (pyotp computes it, as the phone would).

The world: one approved merchant with ``PAYMENTS`` payments, created through ``Payments.create`` in batches of
``BATCH`` per transaction (the list reads them whatever their state: each is a row of ``payments`` under the
merchant, with its reference), then the owners. The deep page starts after the payment ``DEEP`` rows down, newest
first: the keyset pagination reads as little there as on the first page.

Target: ``dashboard-payments`` (first page) and ``dashboard-payments-deep`` (deep page), each page's rate over the
trivial endpoint's, goal 0.3x; the p99 latency of each page under this load is printed and named in its line.
"""

from __future__ import annotations

import functools
import os
import re
import time
from contextlib import ExitStack
from dataclasses import replace

import httpx2 as httpx
import pyotp

from bench import usage
from bench.common import Report, section
from bench.databases import migrated_postgres
from bench.http_load import Plan
from bench.ledger_postgres import ADMIN_URL, SECONDS
from bench.payments_api import WORKERS, Workload, _describe, _rounds, _serving
from bench.payments_shop import HOST, IBAN
from kleline.bootstrap import build
from kleline.config import load_settings
from kleline.money import Money
from kleline.payments.model import PaymentRequest
from kleline.payments.search import PageCursor
from kleline.staff.actor import command_line

CONNECTIONS = int(os.environ.get("KLELINE_BENCH_CONNECTIONS", "16"))
PAYMENTS = int(os.environ.get("KLELINE_BENCH_DASHBOARD_PAYMENTS", "100000"))
BATCH = 2000
DEEP = PAYMENTS * 9 // 10
USERS = 4
PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _world(url: str) -> tuple[list[tuple[str, pyotp.TOTP]], str]:
    """In the migrated ``url``, the merchant, its payments and its owners; the owners (email, app) and the deep
    cursor."""
    kleline = build(load_settings(database_url=url))
    try:
        registered, _ = kleline.merchants.register(
            name="Librairie du Banc d'Essai", email="shop@bench.example", iban=IBAN
        )
        merchant = kleline.merchants.approve(registered.id, actor=command_line())
        began = time.perf_counter()
        for start in range(0, PAYMENTS, BATCH):
            with kleline.db.transaction() as tx:
                for number in range(start, min(start + BATCH, PAYMENTS)):
                    request = PaymentRequest(
                        Money(100 + number % 9000, "EUR"), f"Order {number}: books", f"order-{number:06d}"
                    )
                    kleline.payments.create(merchant.id, request, tx=tx, merchant=merchant)
        print(f"  {PAYMENTS} payments made in {time.perf_counter() - began:.0f} s", flush=True)
        with kleline.db.transaction(write=False) as tx:
            row = tx.fetchone(
                "SELECT created_at, id FROM payments WHERE merchant_id = :merchant"
                " ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET :deep",
                {"merchant": merchant.id, "deep": DEEP},
            )
        deep = PageCursor("next", int(row[0]), str(row[1])).encode()
        owners = []
        for index in range(USERS):
            email = f"owner{index}@bench.example"
            invited = kleline.merchant_users.invite(merchant.id, email, "owner", by=command_line())
            user = kleline.merchant_users.accept(invited.url.rsplit("/", 1)[1], f"Owner {index}", PASSWORD)
            totp = pyotp.TOTP(kleline.merchant_sign_in.set_up_authenticator(user.id, email).secret)
            kleline.merchant_sign_in.confirm_authenticator(user.id, totp.now())
            owners.append((email, totp))
        return owners, deep
    finally:
        kleline.close()


def _signed_in(port: int, email: str, totp: pyotp.TOTP) -> str:
    """Sign in through the dashboard's forms (password, then the app's code), as a person does; the ``Cookie``
    header the browser then sends."""
    with httpx.Client(base_url=f"http://{HOST}:{port}", follow_redirects=False) as client:
        form = client.get("/dashboard/sign-in")
        token = _CSRF.search(form.text)
        assert form.status_code == 200 and token, f"sign-in page: {form.status_code}"
        fields = {"csrf_token": token.group(1), "next": "/dashboard/payments"}
        answer = client.post("/dashboard/sign-in", data=fields | {"email": email, "password": PASSWORD})
        assert answer.status_code == 303, f"sign-in of {email}: {answer.status_code} {answer.text[:300]}"
        step = client.get(answer.headers["location"])
        token = _CSRF.search(step.text)
        assert step.status_code == 200 and token, f"code page: {step.status_code}"
        fields["csrf_token"] = token.group(1)
        # The next time step's code: the step that confirmed the app cannot be used again, and the app's clock
        # may run one step ahead.
        answer = client.post("/dashboard/sign-in/code", data=fields | {"code": totp.at(time.time() + 30)})
        assert answer.status_code == 303, f"code of {email}: {answer.status_code} {answer.text[:300]}"
        return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


def run(report: Report) -> None:
    """The dashboard's payments list, first and deep page, against ``/health/live`` on PostgreSQL, 2 workers."""
    section(
        f"Dashboard payments over HTTP, PostgreSQL: GET /dashboard/payments, first page and a page {DEEP} payments "
        f"down (of {PAYMENTS}, 25 a page) vs GET /health/live, {WORKERS} workers, {CONNECTIONS} keep-alive "
        f"connections, each a signed-in owner's browser, {os.cpu_count()} cores"
    )
    with ExitStack() as stack:
        name, url = stack.enter_context(migrated_postgres("kleline_bench_dashboard"))
        owners, deep = _world(url)
        side = functools.partial(usage.database, ADMIN_URL, name)
        server = stack.enter_context(_serving({"KLELINE_DATABASE_URL": url}, side, None))
        cookies = tuple(_signed_in(server.port, email, totp) for email, totp in owners)
        base = Plan("page", HOST, server.port, CONNECTIONS, SECONDS, cookies=cookies)
        live = Workload("GET /health/live (trivial JSON endpoint)", "requests/s", server, replace(base, kind="live"))
        first = Workload(
            f"GET /dashboard/payments (first page of {PAYMENTS})",
            "pages/s",
            server,
            replace(base, path="/dashboard/payments", marker=b'class="activity-line"'),
        )
        deeper = Workload(
            f"GET /dashboard/payments?cursor=... ({DEEP} payments down)",
            "pages/s",
            server,
            replace(base, path=f"/dashboard/payments?cursor={deep}", marker=b'class="activity-line"'),
        )
        _rounds([live, first, deeper])
        trivial = _describe(live, report, "PostgreSQL")
        for workload, target in ((first, "dashboard-payments"), (deeper, "dashboard-payments-deep")):
            rate = _describe(workload, report, "PostgreSQL")
            p99 = sorted(m.latency(0.99) for m in workload.rounds)[len(workload.rounds) // 2] / 1000
            named = f"{target} vs /health/live (p99 {p99:.0f} ms at {CONNECTIONS} connections)"
            report.ratio(named, rate, trivial, goal=0.3)
        print(f"  worker restarts during the rounds: {server.restarts()}", flush=True)
