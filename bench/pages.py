"""The shopper's pages under load: the wallet (``/wallet``) and the history (``/wallet/activity``, a customer with
200 movements) beside the trivial endpoint of the same server, rounds alternating between the three; the figures
are medians of the rounds.

Server: ``kleline serve --workers 2`` (``bench.api_server``: uvicorn's supervisor, Kleline's worker health check,
TCP_NODELAY, access logs off) on a fresh, migrated PostgreSQL database; the load generator (``bench.http_load``) is
a process of its own with keep-alive connections. Each connection is one browser: a signed-in customer's session
cookie (signed in over HTTP through the sign-in form, as a person does), asking for the page as a browser would.

The world: ``HISTORIES`` customers, each with a card and a history of 200 movements made through the services,
as the API makes them: a top-up by card, purse payments, card payments and refunds of some of the purse payments
(the history merges the purse's ledger movements with the card payments, and names each one's merchant). The
history page shows the newest 25 of them (a page); the wallet page, the purse, its limits, the cards, the bank
accounts and the newest 5 movements (the same service as the history's, in one statement).

Workloads:
- ``GET /health/live``, a static ``{"status": "ok"}`` without the database: the server's floor;
- ``GET /wallet``, signed in: the session, the customer, then the page's own reads (its newest movements among
  them) and its rendering;
- ``GET /wallet/activity``, signed in: the same, then a page of the history (ledger and payments) rendered;
- for scale, ``GET /receipts/verify``, signed in: the session and the customer read, a small page rendered with the
  site's layout and no data of its own: the floor of any signed-in page, below which no page of the wallet goes.

Targets: ``wallet-page`` and ``history-page``, each page's rate over the trivial endpoint's, goal 0.5x; the p99
latency of each page under this load (``CONNECTIONS`` connections keep both cores busy) is printed, and named in
the target's line.
"""

from __future__ import annotations

import functools
import os
import re
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import replace

import httpx2 as httpx

from bench import usage
from bench.common import Report, section
from bench.databases import migrated_postgres
from bench.http_load import Plan
from bench.ledger_postgres import ADMIN_URL, SECONDS
from bench.payments_api import WORKERS, Workload, _describe, _rounds, _serving
from bench.payments_shop import HOST, IBAN
from kleline.bootstrap import Kleline, build
from kleline.config import load_settings
from kleline.money import Money
from kleline.payments.model import PaymentRequest
from kleline.staff.actor import command_line

CONNECTIONS = int(os.environ.get("KLELINE_BENCH_CONNECTIONS", "16"))
HISTORIES = 8  # customers, each one browser (connections take them in turn)
MOVEMENTS = 200
PASSWORD = "correct horse battery staple"
VISA = "4242424242424242"
# Every payment of the set-up skips strong authentication and no limit stops a top-up: the set-up makes a
# history, it does not test the rules.
SETTINGS = {
    "sca_single_limit": 10**9,
    "sca_cumulative_limit": 10**12,
    "sca_max_payments": 10**9,
    "unverified_max_balance": 10**12,
    "unverified_monthly_top_up": 10**12,
}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _history(kleline: Kleline, merchant_id: str, index: int) -> str:
    """A customer with ``MOVEMENTS`` lines of history: one top-up, then purse and card payments, some refunded."""
    email = f"history{index}@bench.example"
    customer = kleline.customers.sign_up(email, PASSWORD, f"Shopper {index}")
    card = kleline.cards.register(customer.id, VISA, 12, 2030, "123", f"Shopper {index}").id
    top_up = kleline.top_ups.top_up(customer.id, Money(500_000, "EUR"), card)
    assert top_up.status == "succeeded", top_up
    refunds = MOVEMENTS // 20
    payments = MOVEMENTS - 1 - refunds
    for turn in range(payments):
        request = PaymentRequest(Money(100 + turn % 900, "EUR"), f"Order {turn}: books and stationery", f"o-{turn}")
        made = kleline.payments.create(merchant_id, request)
        by_card = turn % 4 == 0
        done = kleline.payments.confirm(made.id, customer.id, "card" if by_card else "purse", card if by_card else None)
        assert done.status == "succeeded", done
        if turn % 20 == 1 and refunds:
            kleline.refunds.refund(merchant_id, made.id, Money(50, "EUR"))
            refunds -= 1
    return email


def _world(url: str) -> list[str]:
    """In the migrated ``url``, an approved merchant and ``HISTORIES`` customers with their histories; their emails."""
    kleline = build(load_settings(database_url=url, **SETTINGS))
    try:
        shop = "Librairie du Banc d'Essai"
        merchant, _ = kleline.merchants.register(name=shop, email="shop@bench.example", iban=IBAN)
        kleline.merchants.approve(merchant.id, actor=command_line())
        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(functools.partial(_history, kleline, merchant.id), range(HISTORIES)))
    finally:
        kleline.close()


def _signed_in(port: int, email: str) -> str:
    """Sign in through the sign-in form, as a browser does; the ``Cookie`` header the browser then sends."""
    with httpx.Client(base_url=f"http://{HOST}:{port}", follow_redirects=False) as client:
        form = client.get("/sign-in")
        token = _CSRF.search(form.text)
        assert form.status_code == 200 and token, f"sign-in page: {form.status_code}"
        answer = client.post(
            "/sign-in", data={"csrf_token": token.group(1), "email": email, "password": PASSWORD, "next": "/wallet"}
        )
        assert answer.status_code == 303, f"sign-in of {email}: {answer.status_code} {answer.text[:300]}"
        return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


def run(report: Report) -> None:
    """The wallet and history pages against ``/health/live`` on PostgreSQL, 2 workers."""
    section(
        f"Shopper pages over HTTP, PostgreSQL: GET /wallet and GET /wallet/activity ({MOVEMENTS} movements per "
        f"customer, a page of 25 shown) vs GET /health/live, {WORKERS} workers, {CONNECTIONS} keep-alive "
        f"connections, each a signed-in browser, {os.cpu_count()} cores"
    )
    with ExitStack() as stack:
        name, url = stack.enter_context(migrated_postgres("kleline_bench_pages"))
        emails = _world(url)
        side = functools.partial(usage.database, ADMIN_URL, name)
        server = stack.enter_context(_serving({"KLELINE_DATABASE_URL": url}, side, None))
        cookies = tuple(_signed_in(server.port, email) for email in emails)
        base = Plan("page", HOST, server.port, CONNECTIONS, SECONDS, cookies=cookies)
        live = Workload("GET /health/live (trivial JSON endpoint)", "requests/s", server, replace(base, kind="live"))
        wallet = Workload(
            "GET /wallet (signed in, 5 recent movements)",
            "pages/s",
            server,
            replace(base, path="/wallet", marker=b'class="activity-line"'),
        )
        history = Workload(
            f"GET /wallet/activity ({MOVEMENTS} movements)",
            "pages/s",
            server,
            replace(base, path="/wallet/activity", marker=b'class="activity-line"'),
        )
        floor = Workload(
            "GET /receipts/verify (signed in, no data: a page's floor)",
            "pages/s",
            server,
            replace(base, path="/receipts/verify", marker=b'name="receipt"'),
        )
        _rounds([live, floor, wallet, history])
        trivial = _describe(live, report, "PostgreSQL")
        report.ratio("signed-in page floor vs /health/live", _describe(floor, report, "PostgreSQL"), trivial)
        for workload, target in ((wallet, "wallet-page"), (history, "history-page")):
            rate = _describe(workload, report, "PostgreSQL")
            p99 = sorted(m.latency(0.99) for m in workload.rounds)[len(workload.rounds) // 2] / 1000
            named = f"{target} vs /health/live (p99 {p99:.0f} ms at {CONNECTIONS} connections)"
            report.ratio(named, rate, trivial, goal=0.5)
        print(f"  worker restarts during the rounds: {server.restarts()}", flush=True)
