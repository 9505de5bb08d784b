"""The dashboard's payments list under load: ``GET /dashboard/payments`` for a merchant with ``PAYMENTS`` payments,
its first page and a page deep in the list (reached by a cursor, as the "Older" link gives it), beside the trivial
endpoint of the same server, rounds alternating between the three; the figures are medians of the rounds.

Server: ``kleline serve --workers 2`` (``bench.api_server``) on a fresh, migrated PostgreSQL database; the load
generator (``bench.http_load``) is a process of its own with keep-alive connections. Each connection is one browser
of one of ``USERS`` owners of the shop, each signed in through the dashboard's forms with a password and a code of
its authenticator app (pyotp computes it, as the phone would).

The world: one approved merchant with ``PAYMENTS`` payments waiting for their customer, as ``Payments.create``
makes them (the first through it, the others its rows by ``COPY``, ``BATCH`` per transaction; the list reads them
whatever their state: each is a row of ``payments`` under the merchant, with its reference), then the owners. The
deep page starts after the payment ``DEEP`` rows down, newest first: the keyset pagination reads as little there as
on the first page.

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
from kleline.bootstrap import Kleline, build
from kleline.clock import epoch_us
from kleline.config import load_settings
from kleline.ids import new_id
from kleline.merchants.model import Merchant
from kleline.money import Money
from kleline.payments.model import PaymentRequest
from kleline.payments.search import PageCursor
from kleline.payments.store import PAYMENT_COLUMNS
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
        _payments(kleline, merchant)
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


def _request(number: int) -> PaymentRequest:
    return PaymentRequest(Money(100 + number % 9000, "EUR"), f"Order {number}: books", f"order-{number:06d}")


# Every column of a payment's row but those that tell one payment of the set-up from another.
_SHAPE = (
    "merchant_id, customer_id, currency, status, method, amount_authorized, amount_captured, amount_refunded, "
    "fee_bps, capture_method, return_url, failure_code, card_id, challenge_id, authorization_id, card_network, "
    "authorized_at, expires_at, intro_fee_bps, introduction_offer_id"
)


def _payments(kleline: Kleline, merchant: Merchant) -> None:
    """``PAYMENTS`` payments waiting for their customer, as ``Payments.create`` makes them: the first through it,
    the others as its rows (the same columns, from the same request, at the clock's time) by ``COPY``, ``BATCH`` a
    transaction; then a check that every row has the service's own but for the fields that tell them apart (one
    ``INSERT`` per payment, through the service, took a minute of the bench's set-up)."""
    kleline.payments.create(merchant.id, _request(0), merchant=merchant)
    columns = f"{PAYMENT_COLUMNS}, updated_at"
    for start in range(1, PAYMENTS, BATCH):
        lines = []
        for number in range(start, min(start + BATCH, PAYMENTS)):
            request, at = _request(number), epoch_us(kleline.clock())
            fields: tuple[object, ...] = (
                new_id("pay"),
                merchant.id,
                None,
                request.amount.minor,
                request.amount.currency,
            )
            fields += ("requires_confirmation", None, 0, 0, 0, merchant.fee_bps, request.description)
            fields += (request.reference, request.capture_method, request.return_url, None, at)
            fields += (None,) * 6 + (0, None, at)
            lines.append("\t".join(_copy_text(value) for value in fields))
        with kleline.db.transaction() as tx:
            tx.copy_in(f"payments ({columns})", "\n".join(lines) + "\n")
    with kleline.db.transaction(write=False) as tx:
        shapes = tx.fetchall(f"SELECT DISTINCT {_SHAPE} FROM payments")
        count = tx.fetchone("SELECT COUNT(*) FROM payments WHERE merchant_id = :m", {"m": merchant.id})
    assert len(shapes) == 1 and int(count[0]) == PAYMENTS, (shapes[:3], count)


def _copy_text(value: object) -> str:
    """A value in ``COPY``'s text format."""
    if value is None:
        return "\\N"
    text = str(value)
    assert not any(c in text for c in "\\\t\n\r"), text
    return text


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
