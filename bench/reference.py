"""The same-stack reference of the payment benchmark: what a purse payment costs a minimal app of Kleline's stack.

FastAPI with pydantic bodies and response models, sync routes run in AnyIO's threads (as Kleline's are), the
``Authorization: Bearer`` header parsed by FastAPI's ``HTTPBearer`` and checked against credentials loaded at start,
the ``Idempotency-Key`` header read and validated (not stored: the reference has no idempotency), and the same two
requests as Kleline's purse payment, answered with the same fields as Kleline's payment:

- ``POST /v1/payments`` (merchant key): one ``INSERT ... RETURNING`` (its own transaction);
- ``POST /v1/payments/{id}/confirm`` ``{"method": "purse"}`` (customer token): one transaction that locks the
  payment (``SELECT ... FOR UPDATE``), checks that it waits for confirmation, updates it to ``succeeded``, takes
  the amount off the customer's balance (refused if it would go below zero) and writes one entry.

It is served by ``bench.api_server``, as Kleline is: same server, worker count, access-log setting and health
check. PostgreSQL through a real psycopg pool (``psycopg_pool.ConnectionPool``) of Kleline's size per process
(``KLELINE_DB_POOL_SIZE``'s default, 8); SQLite with Kleline's pragmas (WAL, ``synchronous=NORMAL``, a busy
timeout), a pool of the same size, and the writes of a process queued on a lock of its own before ``BEGIN
IMMEDIATE``, so that its threads do not spin on the file lock (the file lock still orders the two processes).
Nothing here is weakened to flatter Kleline: the reference does what a careful minimal app would.

The app reads ``KLELINE_BENCH_REFERENCE_URL`` (``postgresql://...`` or ``sqlite:///FILE``); ``prepare`` lays out
its tables, credentials and balances from the bench process.
"""

from __future__ import annotations

import os
import queue
import secrets
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import psycopg
from fastapi import Depends, FastAPI, Header, HTTPException, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg_pool import ConnectionPool
from pydantic import BaseModel, Field, StrictInt

from kleline.config import Settings

__all__ = ["APP", "create_app", "prepare"]

APP = "bench.reference:create_app"
POOL_SIZE: int = Settings.model_fields["db_pool_size"].default
PUBLIC_URL = "http://127.0.0.1:8000"
FEE_BPS = 150

TABLES = (
    "CREATE TABLE ref_credentials (secret TEXT PRIMARY KEY, kind TEXT NOT NULL, party TEXT NOT NULL)",
    "CREATE TABLE ref_balances (account TEXT PRIMARY KEY, balance BIGINT NOT NULL CHECK (balance >= 0))",
    "CREATE TABLE ref_payments (id TEXT PRIMARY KEY, merchant_id TEXT NOT NULL, customer_id TEXT,"
    " amount BIGINT NOT NULL CHECK (amount > 0), currency CHAR(3) NOT NULL, status TEXT NOT NULL, method TEXT,"
    " capture_method TEXT NOT NULL, amount_captured BIGINT NOT NULL, fee_bps INTEGER NOT NULL, description TEXT,"
    " reference TEXT, return_url TEXT, created_at TEXT NOT NULL)",
    "CREATE TABLE ref_entries (payment_id TEXT NOT NULL REFERENCES ref_payments (id),"
    " account TEXT NOT NULL REFERENCES ref_balances (account), amount BIGINT NOT NULL, created_at TEXT NOT NULL)",
)
COLUMNS = (
    "id, merchant_id, customer_id, amount, currency, status, method, capture_method, amount_captured, fee_bps,"
    " description, reference, return_url, created_at"
)


class PaymentIn(BaseModel):
    amount: StrictInt = Field(gt=0, le=10**12)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    description: str | None = Field(default=None, max_length=500)
    reference: str | None = Field(default=None, max_length=200)
    capture_method: Literal["automatic", "manual"] = "automatic"
    return_url: str | None = Field(default=None, max_length=2000)


class ConfirmIn(BaseModel):
    method: Literal["purse", "card"]
    card_id: str | None = Field(default=None, max_length=40)
    sca_code: str | None = Field(default=None, pattern=r"^[0-9]{6}$")


class PaymentOut(BaseModel):
    """Kleline's payment fields, so that the answers are of the same size."""

    id: str
    object: Literal["payment"]
    merchant_id: str
    customer_id: str | None
    amount: int
    currency: str
    status: str
    method: str | None
    card_id: str | None
    capture_method: str
    amount_authorized: int
    amount_captured: int
    amount_refunded: int
    fee: int
    fee_bps: int
    net: int
    description: str | None
    reference: str | None
    return_url: str | None
    checkout_url: str
    failure_code: str | None
    next_action: None
    authorization_expires_at: str | None
    created_at: str


def _out(row: Sequence[Any]) -> dict[str, Any]:
    (id_, merchant, customer, amount, currency, status, method, capture, captured, fee_bps, *texts) = row
    fee = captured * fee_bps // 10_000
    return {
        "id": id_,
        "object": "payment",
        "merchant_id": merchant,
        "customer_id": customer,
        "amount": amount,
        "currency": currency,
        "status": status,
        "method": method,
        "card_id": None,
        "capture_method": capture,
        "amount_authorized": captured,
        "amount_captured": captured,
        "amount_refunded": 0,
        "fee": fee,
        "fee_bps": fee_bps,
        "net": captured - fee,
        "description": texts[0],
        "reference": texts[1],
        "return_url": texts[2],
        "checkout_url": f"{PUBLIC_URL}/checkout/{id_}",
        "failure_code": None,
        "next_action": None,
        "authorization_expires_at": None,
        "created_at": texts[3],
    }


class _Store:
    """Transactions on pooled connections: PostgreSQL through psycopg's pool, SQLite through a queue and a lock."""

    def __init__(self, url: str) -> None:
        self.postgres = url.startswith("postgresql")
        self.mark = "%s" if self.postgres else "?"
        self._pool: ConnectionPool[Any] | None = None
        self._idle: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue()
        self._writing = threading.Lock()
        if self.postgres:
            self._pool = ConnectionPool(
                url, min_size=POOL_SIZE, max_size=POOL_SIZE, kwargs={"autocommit": True}, open=True
            )
        else:
            self._path = url.removeprefix("sqlite:///")
            for _ in range(POOL_SIZE):
                self._idle.put(_sqlite(self._path))

    def sql(self, statement: str) -> str:
        return statement.replace("%s", self.mark)

    @contextmanager
    def transaction(self, *, single: bool = False) -> Iterator[Any]:
        """A write transaction (one statement in autocommit when ``single``, on PostgreSQL); yields a cursor."""
        if self._pool is not None:
            with self._pool.connection() as connection:
                block: AbstractContextManager[Any] = nullcontext() if single else connection.transaction()
                with block:
                    yield connection.cursor()
            return
        connection = self._idle.get()
        try:
            with self._writing:
                connection.execute("BEGIN IMMEDIATE")
                try:
                    yield connection.cursor()
                    connection.execute("COMMIT")
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise
        finally:
            self._idle.put(connection)

    def load(self) -> dict[str, tuple[str, str]]:
        """Every credential: secret -> (kind, party)."""
        with self.transaction() as cursor:
            rows = cursor.execute("SELECT secret, kind, party FROM ref_credentials").fetchall()
        return {secret: (kind, party) for secret, kind, party in rows}


def _sqlite(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=60)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=60000"):
        connection.execute(f"PRAGMA {pragma}")
    return connection


_bearer = HTTPBearer(auto_error=False)
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _party(request: Request, found: HTTPAuthorizationCredentials | None, kind: str) -> str:
    """The party a bearer key of ``kind`` names, or 401."""
    known = request.app.state.credentials.get(found.credentials.strip()) if found is not None else None
    if known is None or known[0] != kind:
        raise HTTPException(401, f"send Authorization: Bearer <key> of a {kind}")
    party: str = known[1]
    return party


def _merchant(request: Request, found: Credentials) -> str:
    return _party(request, found, "merchant")


def _customer(request: Request, found: Credentials) -> str:
    return _party(request, found, "customer")


def create_app() -> FastAPI:
    """The reference over the database ``KLELINE_BENCH_REFERENCE_URL`` names (an application factory)."""
    store = _Store(os.environ["KLELINE_BENCH_REFERENCE_URL"])
    credentials = store.load()
    insert = store.sql(
        f"INSERT INTO ref_payments ({COLUMNS}) VALUES (%s, %s, NULL, %s, %s, 'requires_confirmation', NULL, %s, 0,"
        f" %s, %s, %s, %s, %s) RETURNING {COLUMNS}"
    )
    lock = store.sql(
        "SELECT status, amount FROM ref_payments WHERE id = %s" + (" FOR UPDATE" if store.postgres else "")
    )
    succeed = store.sql(
        "UPDATE ref_payments SET status = 'succeeded', customer_id = %s, method = 'purse', amount_captured = amount"
        f" WHERE id = %s RETURNING {COLUMNS}"
    )
    debit = store.sql("UPDATE ref_balances SET balance = balance - %s WHERE account = %s AND balance >= %s")
    entry = store.sql("INSERT INTO ref_entries (payment_id, account, amount, created_at) VALUES (%s, %s, %s, %s)")

    app = FastAPI(title="same-stack reference")
    app.state.credentials = credentials

    @app.get("/health")
    @app.get("/health/live")
    def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/payments", status_code=201, response_model=PaymentOut)
    def create(
        body: PaymentIn,
        merchant: Annotated[str, Depends(_merchant)],
        idempotency_key: IdempotencyKey = None,
    ) -> dict[str, Any]:
        now = datetime.now(UTC).isoformat()
        values = (f"pay_{secrets.token_urlsafe(16)}", merchant, body.amount, body.currency, body.capture_method)
        with store.transaction(single=True) as cursor:
            row = cursor.execute(
                insert, (*values, FEE_BPS, body.description, body.reference, body.return_url, now)
            ).fetchone()
        return _out(row)

    @app.post("/v1/payments/{payment_id}/confirm", response_model=PaymentOut)
    def confirm(
        payment_id: Annotated[str, Path(max_length=40)],
        body: ConfirmIn,
        customer: Annotated[str, Depends(_customer)],
        idempotency_key: IdempotencyKey = None,
    ) -> dict[str, Any]:
        if body.method != "purse":
            raise HTTPException(422, "the reference pays from the purse only")
        with store.transaction() as cursor:
            found = cursor.execute(lock, (payment_id,)).fetchone()
            if found is None:
                raise HTTPException(404, f"no payment {payment_id}")
            if found[0] != "requires_confirmation":
                raise HTTPException(409, f"payment {payment_id} is {found[0]}")
            row = cursor.execute(succeed, (customer, payment_id)).fetchone()
            if cursor.execute(debit, (found[1], customer, found[1])).rowcount != 1:
                raise HTTPException(402, "the purse holds too little")
            cursor.execute(entry, (payment_id, customer, -found[1], datetime.now(UTC).isoformat()))
        return _out(row)

    return app


def prepare(url: str, merchant_key: str, customer_tokens: Sequence[str], balance: int) -> None:
    """The reference's tables in an empty database, its merchant's key, and a funded balance per customer token."""
    rows = [(merchant_key, "merchant", "mer_reference")]
    rows += [(token, "customer", f"cus_reference_{index}") for index, token in enumerate(customer_tokens)]
    if url.startswith("postgresql"):
        with psycopg.connect(url, autocommit=True) as pg, pg.transaction():
            _lay_out(pg.cursor(), "%s", rows, balance)
        return
    connection = _sqlite(url.removeprefix("sqlite:///"))
    try:
        connection.execute("BEGIN IMMEDIATE")
        _lay_out(connection.cursor(), "?", rows, balance)
        connection.execute("COMMIT")
    finally:
        connection.close()


def _lay_out(cursor: Any, mark: str, rows: list[tuple[str, str, str]], balance: int) -> None:
    for statement in TABLES:
        cursor.execute(statement)
    cursor.executemany(f"INSERT INTO ref_credentials VALUES ({mark}, {mark}, {mark})", rows)
    accounts = [(party, balance) for _secret, kind, party in rows if kind == "customer"]
    cursor.executemany(f"INSERT INTO ref_balances VALUES ({mark}, {mark})", accounts)
