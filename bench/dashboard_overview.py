"""The merchant's dashboard under load: the overview (``GET /dashboard``) of a shop with 100,000 payments beside the
trivial endpoint of the same server, rounds alternating; the figures are medians of the rounds.

Server: ``kleline serve --workers 2`` (``bench.api_server``) on a fresh, migrated PostgreSQL database; the load
generator (``bench.http_load``) is a process of its own with keep-alive connections, each a browser with the
dashboard's session cookie of one of the shop's owners, signed in over HTTP as a person does: the sign-in form, then
the code of the owner's authenticator app, computed with pyotp from the secret enrolled for it.

The world: one shop with ``PAYMENTS`` card payments over the last ``DAYS`` days (about 250 a day, of 5 to 150 EUR, at
3.5 %), one in twenty partly refunded a few days later, a settlement run this morning that paid out the balance (so
that a payout is in transit), today's payments since, and a few payments authorised, not captured (the pending
figure). The payments are written in bulk, a day at a time in the order of time: each day's capture and refund
entries through the ledger's batch (``Ledger.post_batch_in``: balanced, chained, balances updated, as every entry),
in the same transaction as the day's payment and refund rows; no event, receipt or webhook. The set-up then checks
that the books balance and that the overview's month is its statement's, to the cent, this month and the last.

Workloads:
- ``GET /health/live``, a static ``{"status": "ok"}`` without the database: the server's floor;
- ``GET /dashboard`` of the shop with 100,000 payments: the session, the user, the shop, then the overview (its
  closed days from ``merchant_day_totals``, today's sales summed from the books, the balance, the pending amount,
  the payouts) and the page (the charts are images of their own, which a browser keeps);
- for scale, ``GET /dashboard`` of a shop approved today with no sale at all: the same page and reads, nothing to
  sum.

Before the rounds, the first visit to the big shop's overview is timed alone: it keeps the closed days of the
year (``DAYS`` rows) from the books, once.

Target: ``dashboard-overview``, the overview's rate over the trivial endpoint's, goal 0.3x; its p99 latency under
this load (``CONNECTIONS`` connections) is printed and named in the target's line.
"""

from __future__ import annotations

import functools
import os
import random
import re
import secrets
import time
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx2 as httpx
import psycopg
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
from kleline.db.engine import RawTx
from kleline.ids import new_id
from kleline.ledger import EntryRequest
from kleline.ledger.audit import trial_balance
from kleline.money import Money
from kleline.payments.capture import capture_request
from kleline.payments.model import Payment, refund_split
from kleline.payments.postings import refund_postings
from kleline.reports import Month
from kleline.reports.figures import Totals
from kleline.staff.actor import command_line

__all__ = ["run"]

CONNECTIONS = int(os.environ.get("KLELINE_BENCH_CONNECTIONS", "16"))
PAYMENTS = int(os.environ.get("KLELINE_BENCH_DASHBOARD_PAYMENTS", "100000"))
DAYS = 400  # a little over 13 months: the monthly chart's twelve are all full
REFUND_EVERY = 20
AUTHORISED = 25
OWNERS = 4
FEE_BPS = 350
PASSWORD = "correct horse battery staple"
VISA = "4242424242424242"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class _Clock:
    """The set-up's clock: moved by hand through the past year, in the order the books are written."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True)
class _Shop:
    merchant_id: str
    owners: tuple[tuple[str, pyotp.TOTP], ...]


def _payment(merchant_id: str, customer_id: str, card_id: str, amount: int, at: datetime, status: str) -> Payment:
    captured = amount if status == "succeeded" else 0
    return Payment(
        id=new_id("pay"),
        merchant_id=merchant_id,
        customer_id=customer_id,
        amount=Money(amount, "EUR"),
        status=status,
        method="card",
        amount_authorized=amount,
        amount_captured=captured,
        amount_refunded=0,
        fee_bps=FEE_BPS,
        description="Books and stationery",
        reference=f"order-{secrets.token_hex(5)}",
        capture_method="automatic" if status == "succeeded" else "manual",
        return_url=None,
        failure_code=None,
        created_at=at,
        checkout_url="",
        card_id=card_id,
        challenge_id=None,
        authorization_id=f"auth-{secrets.token_hex(8)}",
        card_network="visa",
        authorized_at=at,
        expires_at=at + timedelta(days=7),
    )


_PAYMENT_ROW = (
    "INSERT INTO payments (id, merchant_id, customer_id, amount, currency, status, method, amount_authorized, "
    "amount_captured, amount_refunded, fee_bps, description, reference, capture_method, return_url, failure_code, "
    "created_at, card_id, challenge_id, authorization_id, card_network, authorized_at, expires_at, updated_at) "
    "VALUES (:id, :merchant, :customer, :amount, 'EUR', :status, 'card', :amount, :captured, :refunded, :fee_bps, "
    ":description, :reference, :capture, NULL, NULL, :at, :card, NULL, :authorization, 'visa', :at, :expires, :at)"
)
_REFUND_ROW = (
    "INSERT INTO refunds (id, payment_id, merchant_id, amount, currency, status, fee_returned, failure_code, "
    "created_at) VALUES (:id, :payment, :merchant, :amount, 'EUR', 'succeeded', :fee, NULL, :at)"
)


def _rows(payments: list[Payment], refunded: dict[str, int]) -> list[dict[str, Any]]:
    return [
        {
            "id": p.id,
            "merchant": p.merchant_id,
            "customer": p.customer_id,
            "amount": p.amount.minor,
            "status": p.status,
            "captured": p.amount_captured,
            "refunded": refunded.get(p.id, 0),
            "fee_bps": p.fee_bps,
            "description": p.description,
            "reference": p.reference,
            "capture": p.capture_method,
            "at": epoch_us(p.created_at),
            "card": p.card_id,
            "authorization": p.authorization_id,
            "expires": epoch_us(p.expires_at) if p.expires_at else None,
        }
        for p in payments
    ]


# ``_PAYMENT_ROW``'s columns and values, in ``COPY``'s text format: a day's rows in one statement.
_COPY_COLUMNS = (
    "payments (id, merchant_id, customer_id, amount, currency, status, method, amount_authorized, amount_captured, "
    "amount_refunded, fee_bps, description, reference, capture_method, return_url, failure_code, created_at, "
    "card_id, challenge_id, authorization_id, card_network, authorized_at, expires_at, updated_at)"
)


def _copy_payments(tx: RawTx, payments: list[Payment]) -> None:
    """``payments`` as ``_PAYMENT_ROW`` writes them (none refunded yet), by one ``COPY``."""
    lines = []
    for row in _rows(payments, {}):
        fields: tuple[object, ...] = (
            row["id"],
            row["merchant"],
            row["customer"],
            row["amount"],
            "EUR",
            row["status"],
            "card",
        )
        fields += (row["amount"], row["captured"], row["refunded"], row["fee_bps"], row["description"])
        fields += (row["reference"], row["capture"], None, None, row["at"], row["card"], None, row["authorization"])
        fields += ("visa", row["at"], row["expires"], row["at"])
        lines.append("\t".join("\\N" if value is None else _text(value) for value in fields))
    if lines:
        tx.copy_in(_COPY_COLUMNS, "\n".join(lines) + "\n")


def _text(value: object) -> str:
    text = str(value)
    assert not any(c in text for c in "\\\t\n\r"), text
    return text


def _day(kleline: Kleline, tx: RawTx, day: list[Payment], refunds: list[tuple[Payment, int]]) -> None:
    """One day of the books: its captures and refunds through the ledger's batch, and their rows, in ``tx``."""
    entries: list[EntryRequest] = [capture_request(p, p.amount.minor) for p in day]
    refund_rows, refunded = [], {}
    for payment, amount in refunds:
        split = refund_split(payment.amount_captured, 0, amount, payment.fee_bps)
        refund_id = new_id("re")
        entries.append(
            EntryRequest(
                refund_id,
                refund_postings(payment, split),
                "payment refunded",
                {"payment": payment.id, "refund": refund_id, "merchant": payment.merchant_id},
            )
        )
        refunded[payment.id] = amount
        refund_rows.append(
            {
                "id": refund_id,
                "payment": payment.id,
                "merchant": payment.merchant_id,
                "amount": amount,
                "fee": split.fee_returned,
                "at": epoch_us(kleline.clock()),
            }
        )
    results = kleline.ledger.post_batch_in(tx, entries)
    assert all(result.ok for result in results), [r.error for r in results if not r.ok][:3]
    _copy_payments(tx, day)
    if refund_rows:
        tx.executemany(_REFUND_ROW, refund_rows)
        tx.executemany(
            "UPDATE payments SET amount_refunded = :refunded WHERE id = :id",
            [{"id": payment_id, "refunded": amount} for payment_id, amount in refunded.items()],
        )


def _sales(kleline: Kleline, clock: _Clock, merchant_id: str, end: datetime) -> None:
    """``PAYMENTS`` card payments over ``DAYS`` days up to ``end``, some refunded; a settlement run before the last
    day's; ``AUTHORISED`` payments authorised, not captured."""
    customer = kleline.customers.sign_up("buyer@bench.example", PASSWORD, "Bench Buyer")
    card = kleline.cards.register(customer.id, VISA, 12, 2040, "123", "Bench Buyer").id
    amounts = random.Random(13)
    waiting: list[tuple[Payment, int]] = []
    for day in range(DAYS):
        count = PAYMENTS // DAYS + (1 if day < PAYMENTS % DAYS else 0)
        clock.now = end - timedelta(days=DAYS - 1 - day)
        if day == DAYS - 1:
            clock.now -= timedelta(minutes=5)
            # Pays the balance out: a payout in transit, the rest of today to come.
            run = kleline.settlement.run(actor=command_line())
            assert run.payout_count == 1, run
            clock.now = end
        made = [
            _payment(merchant_id, customer.id, card, amounts.randint(500, 15_000), clock.now, "succeeded")
            for _ in range(count)
        ]
        due = [(p, amount) for p, amount in waiting if p.created_at <= clock.now - timedelta(days=3)]
        waiting = [w for w in waiting if w not in due] + [
            (p, p.amount.minor // amounts.choice((2, 3, 4))) for p in made[::REFUND_EVERY]
        ]
        with kleline.db.transaction() as tx:
            _day(kleline, tx, made, due)
    pending = [
        _payment(merchant_id, customer.id, card, amounts.randint(500, 15_000), end, "authorized")
        for _ in range(AUTHORISED)
    ]
    with kleline.db.transaction() as tx:
        tx.executemany(_PAYMENT_ROW, _rows(pending, {}))


def _owners(kleline: Kleline, merchant_id: str, label: str) -> tuple[tuple[str, pyotp.TOTP], ...]:
    """``OWNERS`` owners of the shop, each with an authenticator app set up and confirmed now."""
    owners = []
    for index in range(OWNERS):
        email = f"owner{index}-{label}@bench.example"
        invited = kleline.merchant_users.invite(merchant_id, email, "owner", by=command_line())
        token = urlsplit(invited.url).path.rsplit("/", 1)[1]
        user = kleline.merchant_users.accept(token, f"Owner {index}", PASSWORD)
        totp = pyotp.TOTP(kleline.merchant_sign_in.set_up_authenticator(user.id, email).secret)
        kleline.merchant_sign_in.confirm_authenticator(user.id, totp.at(kleline.clock()))
        owners.append((email, totp))
    return tuple(owners)


def _world(url: str) -> tuple[_Shop, _Shop]:
    """In the migrated ``url``, the big shop and the empty one, with their owners; checks that the books balance and
    that the overview agrees with the statements."""
    end = datetime.now(UTC) - timedelta(minutes=10)
    clock = _Clock(end - timedelta(days=DAYS))
    kleline = build(load_settings(database_url=url), clock=clock)
    try:
        merchant, _ = kleline.merchants.register(name="Librairie du Banc d'Essai", email="big@bench.example", iban=IBAN)
        merchant_id = kleline.merchants.approve(merchant.id, actor=command_line()).id
        began = time.perf_counter()
        _sales(kleline, clock, merchant_id, end)
        print(f"  set-up: {PAYMENTS:,} payments over {DAYS} days in {time.perf_counter() - began:.0f} s", flush=True)
        clock.now = datetime.now(UTC)
        empty, _ = kleline.merchants.register(name="Atelier Vide", email="empty@bench.example", iban=IBAN)
        empty_id = kleline.merchants.approve(empty.id, actor=command_line()).id
        big = _Shop(merchant_id, _owners(kleline, merchant_id, "big"))
        shops = (big, _Shop(empty_id, _owners(kleline, empty_id, "empty")))
        assert trial_balance(kleline.db).balanced, "the set-up left unbalanced books"
        # The bench's server runs without autovacuum: gather the planner's statistics as it would after such a load.
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("ANALYZE")
        _check_statements(kleline, merchant_id)
        return shops
    finally:
        kleline.close()


def _check_statements(kleline: Kleline, merchant_id: str) -> None:
    """The overview's month is its statement's, to the cent, this month and the one before."""
    began = time.perf_counter()
    overview = kleline.overview.of(merchant_id)
    print(f"  first overview of the big shop (its closed days kept): {time.perf_counter() - began:.2f} s", flush=True)
    for figure in overview.months[-2:]:
        statement = kleline.reports.statement(merchant_id, figure.month)
        expected = Totals(
            statement.turnover, statement.refunds, statement.commission_charged, statement.commission_returned
        )
        assert figure.totals == expected, (figure, expected)
    assert overview.payouts.in_transit is not None and overview.pending > 0
    month: Month = overview.months[-1].month
    print(f"  overview of {month} = its statement: {overview.this_month}", flush=True)


def _signed_in(port: int, email: str, totp: pyotp.TOTP) -> str:
    """Sign in through the dashboard's form and the code step, as a browser does; the ``Cookie`` header it then
    sends. The code is the authenticator's next one (the set-up's confirmation used the current one, and a code is
    accepted once; Kleline accepts one step ahead for a phone's drift)."""
    with httpx.Client(base_url=f"http://{HOST}:{port}", follow_redirects=False) as client:
        form = client.get("/dashboard/sign-in")
        token = _CSRF.search(form.text)
        assert form.status_code == 200 and token, f"sign-in page: {form.status_code}"
        fields = {"csrf_token": token.group(1), "email": email, "password": PASSWORD, "next": "/dashboard"}
        answer = client.post("/dashboard/sign-in", data=fields)
        assert answer.status_code == 303, f"sign-in of {email}: {answer.status_code} {answer.text[:300]}"
        step = client.get(answer.headers["location"])
        token = _CSRF.search(step.text)
        assert step.status_code == 200 and token, f"code step: {step.status_code}"
        code = totp.at(datetime.now(UTC) + timedelta(seconds=totp.interval))
        fields = {"csrf_token": token.group(1), "code": code, "next": "/dashboard"}
        answer = client.post("/dashboard/sign-in/code", data=fields)
        assert answer.status_code == 303 and answer.headers["location"] == "/dashboard", answer.text[:300]
        return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


def run(report: Report) -> None:
    """The overview of a shop with 100,000 payments against ``/health/live`` on PostgreSQL, 2 workers."""
    section(
        f"Merchant dashboard over HTTP, PostgreSQL: GET /dashboard (the overview of a shop with {PAYMENTS:,} payments) "
        f"vs GET /health/live, {WORKERS} workers, {CONNECTIONS} keep-alive connections, each a signed-in owner's "
        f"browser, {os.cpu_count()} cores"
    )
    with ExitStack() as stack:
        name, url = stack.enter_context(migrated_postgres("kleline_bench_dashboard"))
        big, empty = _world(url)
        side = functools.partial(usage.database, ADMIN_URL, name)
        server = stack.enter_context(_serving({"KLELINE_DATABASE_URL": url}, side, None))
        cookies = {shop.merchant_id: tuple(_signed_in(server.port, *o) for o in shop.owners) for shop in (big, empty)}
        base = Plan("page", HOST, server.port, CONNECTIONS, SECONDS, path="/dashboard", marker=b'id="sales-title"')
        live = Workload("GET /health/live (trivial JSON endpoint)", "requests/s", server, replace(base, kind="live"))
        overview = Workload(
            f"GET /dashboard (overview, {PAYMENTS:,} payments)",
            "pages/s",
            server,
            replace(base, cookies=cookies[big.merchant_id]),
        )
        nothing = replace(base, cookies=cookies[empty.merchant_id])
        floor = Workload("GET /dashboard (overview, a shop with no sale)", "pages/s", server, nothing)
        _rounds([live, floor, overview])
        trivial = _describe(live, report, "PostgreSQL")
        report.ratio("overview of an empty shop vs /health/live", _describe(floor, report, "PostgreSQL"), trivial)
        rate = _describe(overview, report, "PostgreSQL")
        p99 = sorted(m.latency(0.99) for m in overview.rounds)[len(overview.rounds) // 2] / 1000
        named = f"dashboard-overview vs /health/live (p99 {p99:.0f} ms at {CONNECTIONS} connections)"
        report.ratio(named, rate, trivial, goal=0.3)
        print(f"  worker restarts during the rounds: {server.restarts()}", flush=True)
