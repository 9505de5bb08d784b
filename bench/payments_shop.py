"""The payment benchmark's world: a merchant, its key and funded customers in a migrated Kleline database, and the
checks that the database agrees with what the clients counted afterwards (``bench.payments_api``)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from bench.http_load import Connection
from kleline.bootstrap import Kleline, build, open_system_accounts
from kleline.clock import epoch_us
from kleline.config import load_settings
from kleline.db.engine import Database
from kleline.ids import new_id
from kleline.ledger import Account, EntryRequest, NormalSide, credit, debit
from kleline.ledger.audit import trial_balance
from kleline.merchants.model import balance_account
from kleline.money import Money
from kleline.operators.service import create_key
from kleline.payments.model import PaymentRequest, commission
from kleline.staff.actor import command_line
from kleline.staff.roles import Role
from kleline.wallet import store
from kleline.wallet.customers import PURSE_CURRENCY, hash_password, purse_code
from kleline.wallet.model import Customer

__all__ = ["CUSTOMERS", "HOST", "PURSE", "SCA", "Shop", "check", "open_shop"]

HOST = "127.0.0.1"
CUSTOMERS = int(os.environ.get("KLELINE_BENCH_CUSTOMERS", "200"))
PASSWORD = "correct horse battery staple"
PURSE = 10_000_000  # cents in each purse: far more than a run spends
SCA = {"sca_cumulative_limit": 10**12, "sca_max_payments": 10**9}
FUNDING_ACCOUNT = "card:visa:receivable"
IBAN = "FR1420041010050500013M02606"


@dataclass(frozen=True)
class Shop:
    """What the load needs: the merchant's key and id, the customers' tokens, an operator key for the checks."""

    merchant_id: str
    merchant_key: str
    customer_tokens: tuple[str, ...]
    operator_key: str
    payment_id: str  # one waiting payment, for the authenticated read


def _customers(kleline: Kleline, count: int) -> tuple[str, ...]:
    """``count`` customers, each with a funded purse and a sign-in token; their tokens.

    Written set-based, the rows sign-up and sign-in write: the customers through the wallet's store (each one's
    email and name sealed under its own key, as sign-up does) in one transaction, their purses opened together
    (``Ledger.open_accounts``), funded by one batch (``Ledger.post_batch``: one entry per purse, as a card top-up
    books it), and a token each, issued as sign-in issues it. One password hash for
    all: Argon2 is slow on purpose (two hashes per customer took minutes on a busy machine), and the load never
    signs in with a password, only with the tokens."""
    password, now = hash_password(PASSWORD), kleline.clock()
    made = [
        Customer(new_id("cus"), f"shopper{index}@bench.example", f"Shopper {index}", "unverified", now)
        for index in range(count)
    ]
    with kleline.db.transaction() as tx:
        for customer in made:
            store.insert_customer(tx, customer, password, epoch_us(now), kleline.customers.keys)
    kleline.ledger.open_accounts([Account(purse_code(c.id), PURSE_CURRENCY, NormalSide.CREDIT, 0) for c in made])
    purse = Money(PURSE, "EUR")
    funded = kleline.ledger.post_batch(
        [
            EntryRequest(
                f"fund-{c.id}", (debit(FUNDING_ACCOUNT, purse), credit(purse_code(c.id), purse)), "purse top-up by card"
            )
            for c in made
        ]
    )
    assert all(result.ok for result in funded), [r.error for r in funded if not r.ok][:3]
    with kleline.db.transaction() as tx:
        return tuple(kleline.customers.issue_token_in(tx, customer.id).token for customer in made)


def _populate(kleline: Kleline, customers: int) -> Shop:
    """An operator, an approved merchant with its key, and ``customers`` signed-in customers with funded purses."""
    open_system_accounts(kleline)
    kleline.ledger.open_account(FUNDING_ACCOUNT, "EUR", NormalSide.DEBIT)
    operator = create_key(kleline.db, "bench", role=Role.SUPPORT, actor=command_line()).secret
    merchant, key = kleline.merchants.register(name="Bench Boutique", email="shop@bench.example", iban=IBAN)
    kleline.merchants.approve(merchant.id, actor=command_line())
    tokens = _customers(kleline, customers)
    waiting = kleline.payments.create(merchant.id, PaymentRequest(Money(1000, "EUR"), reference="bench-read"))
    return Shop(merchant.id, key, tokens, operator, waiting.id)


def check(url: str, shop: Shop, port: int, succeeded: int, amount: int) -> None:
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


def open_shop(url: str, customers: int = CUSTOMERS) -> Shop:
    """Populate the migrated, empty database ``url`` with ``customers``; says how long that took."""
    began = time.perf_counter()
    kleline = build(load_settings(database_url=url, **SCA))
    try:
        shop = _populate(kleline, customers)
    finally:
        kleline.close()
    print(f"  (set-up: merchant and {customers} customers in {time.perf_counter() - began:.0f} s)", flush=True)
    return shop
