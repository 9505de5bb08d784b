"""Merchant statements and the books' export over HTTP and from the command line: who may read what, in which
form, and that reading never writes."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kleline.bootstrap import Kleline, build, open_system_accounts
from kleline.cli import app
from kleline.config import load_settings
from kleline.ledger import EntryRequest, NormalSide, credit, debit
from kleline.money import Money
from kleline.payments.model import PaymentRequest
from kleline.reports import Month
from kleline.wallet.customers import purse_code

from ..conftest import FakeClock
from ..integration.helpers import book_snapshot
from ..operator_keys import OPERATOR, operator_key
from .http import bearer, problem

IBAN = "FR1420041010050500013M02606"
PASSWORD = "correct horse battery staple"
BEAN_CHECK = Path(sys.executable).with_name("bean-check")


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


class Shop:
    """An operator, two approved merchants, a customer with 100 EUR who paid the first shop 12.50 and was refunded
    5.00 of it."""

    def __init__(self, client: TestClient, kleline: Kleline) -> None:
        open_system_accounts(kleline)
        kleline.ledger.open_account("card:visa:receivable", "EUR", NormalSide.DEBIT)
        self.operator = bearer(operator_key(kleline.db))
        self.shop_id, self.shop = self._merchant(kleline, "Librairie Kléber")
        self.other_id, self.other = self._merchant(kleline, "Fromagerie Vaubourg")
        customer = kleline.customers.sign_up("ada@example.org", PASSWORD, "Ada")
        token = client.post("/v1/auth/token", json={"email": "ada@example.org", "password": PASSWORD})
        self.customer = bearer(token.json()["token"])
        kleline.ledger.post(
            EntryRequest(
                "fund-ada",
                (debit("card:visa:receivable", eur(10_000)), credit(purse_code(customer.id), eur(10_000))),
                "purse top-up by card",
            )
        )
        payment = kleline.payments.create(self.shop_id, PaymentRequest(eur(1250), reference="CMD-1"))
        kleline.payments.confirm(payment.id, customer.id, "purse")
        kleline.refunds.refund(self.shop_id, payment.id, eur(500))

    @staticmethod
    def _merchant(kleline: Kleline, name: str) -> tuple[str, dict[str, str]]:
        merchant, secret = kleline.merchants.register(name=name, email="shop@example.fr", iban=IBAN, fee_bps=350)
        kleline.merchants.approve(merchant.id, actor=OPERATOR)
        return merchant.id, bearer(secret)


@pytest.fixture
def shop(client: TestClient, kleline: Kleline) -> Shop:
    return Shop(client, kleline)


def test_a_merchant_reads_its_month_and_an_operator_reads_the_same(client: TestClient, shop: Shop) -> None:
    own = client.get("/v1/merchant-statements/2026-01", headers=shop.shop)
    assert own.status_code == 200, own.text
    assert own.headers["content-type"] == "application/json"
    body = own.json()
    assert (body["object"], body["merchant_id"], body["month"], body["closed"]) == (
        "merchant_statement",
        shop.shop_id,
        "2026-01",
        False,
    )
    assert (body["turnover"], body["refunds"], body["commission"], body["closing_balance"]) == (1250, 500, 26, 724)
    assert [m["type"] for m in body["movements"]] == ["payment", "refund"]
    assert body["movements"][0]["reference"] == "CMD-1"

    operator = client.get(f"/v1/merchant-statements/2026-01?merchant_id={shop.shop_id}", headers=shop.operator)
    assert operator.status_code == 200 and operator.content == own.content
    named = client.get(f"/v1/merchant-statements/2026-01?merchant_id={shop.shop_id}", headers=shop.shop)
    assert named.content == own.content
    other = client.get("/v1/merchant-statements/2026-01", headers=shop.other)
    assert other.status_code == 200 and other.json()["merchant_id"] == shop.other_id
    assert other.json()["movements"] == []


def test_nobody_reads_another_merchants_statement(client: TestClient, kleline: Kleline, shop: Shop) -> None:
    before = book_snapshot(kleline.db)
    url = f"/v1/merchant-statements/2026-01?merchant_id={shop.shop_id}"
    assert problem(client.get(url, headers=shop.other), 404, "not_found")["param"] == "merchant_id"
    problem(client.get(url, headers=shop.customer), 403, "forbidden")
    problem(client.get(url), 401, "unauthorized")
    missing = client.get("/v1/merchant-statements/2026-01", headers=shop.operator)
    assert problem(missing, 400, "validation_error")["param"] == "merchant_id"
    unknown = client.get("/v1/merchant-statements/2026-01?merchant_id=mer_nobody", headers=shop.operator)
    problem(unknown, 404, "not_found")
    assert book_snapshot(kleline.db) == before


def test_bad_months_and_formats_are_named_in_the_problem(client: TestClient, shop: Shop) -> None:
    for month in ("2026-13", "2026-1", "january"):
        response = client.get(f"/v1/merchant-statements/{month}", headers=shop.shop)
        assert problem(response, 400, "validation_error")["param"] == "month"
    not_begun = problem(client.get("/v1/merchant-statements/2026-02", headers=shop.shop), 400, "validation_error")
    assert "has not begun" in not_begun["detail"]
    bad_format = client.get("/v1/merchant-statements/2026-01?format=xlsx", headers=shop.shop)
    assert problem(bad_format, 400, "validation_error")["param"] == "format"


def test_each_format_comes_with_its_media_type_and_file_name(
    client: TestClient, kleline: Kleline, clock: FakeClock, shop: Shop
) -> None:
    url = "/v1/merchant-statements/2026-01"
    csv = client.get(f"{url}?format=csv", headers=shop.shop)
    assert csv.status_code == 200 and csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert csv.headers["content-disposition"] == f'attachment; filename="kleline-{shop.shop_id}-2026-01.csv"'
    assert csv.content.startswith(b"posted_at,type,id,")
    fec = client.get(f"{url}?format=fec", headers=shop.shop)
    assert fec.status_code == 200 and fec.headers["content-type"] == "text/plain; charset=iso-8859-15"
    assert fec.headers["content-disposition"] == f'attachment; filename="{shop.shop_id}FEC20260131.txt"'
    assert fec.content.startswith(b"JournalCode\tJournalLib\tEcritureNum\t")

    open_month = client.get(f"{url}?format=pdf", headers=shop.shop)
    assert problem(open_month, 409, "statement_period_open")["param"] == "month"
    clock.now = datetime(2026, 2, 1, 8, 0, tzinfo=UTC)
    pdf = client.get(f"{url}?format=pdf", headers=shop.shop)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    clock.advance(days=3)
    assert client.get(f"{url}?format=pdf&merchant_id={shop.shop_id}", headers=shop.operator).content == pdf.content


def test_an_operator_exports_the_books_and_bean_check_accepts_them(
    client: TestClient, kleline: Kleline, shop: Shop, tmp_path: Path
) -> None:
    before = book_snapshot(kleline.db)
    exported = client.get("/v1/ledger/export?format=beancount", headers=shop.operator)
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"] == "text/plain; charset=utf-8"
    assert exported.headers["content-disposition"] == 'attachment; filename="kleline.beancount"'
    path = tmp_path / "kleline.beancount"
    path.write_bytes(exported.content)
    checked = subprocess.run([str(BEAN_CHECK), str(path)], capture_output=True, text=True, timeout=120, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Liabilities:Merchant:Mer-" in exported.text and "Income:Kleline:Commission" in exported.text
    problem(client.get("/v1/ledger/export", headers=shop.shop), 403, "forbidden")
    problem(client.get("/v1/ledger/export?format=csv", headers=shop.operator), 400, "validation_error")
    assert book_snapshot(kleline.db) == before


# --- command line -------------------------------------------------------------------------------------------------


def test_the_command_line_writes_statements_and_the_books(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KLELINE_DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "240")
    kleline = build(load_settings(database_url=database_url))
    try:
        open_system_accounts(kleline)
        kleline.ledger.open_account("card:visa:receivable", "EUR", NormalSide.DEBIT)
        merchant, _ = kleline.merchants.register(name="Librairie Kléber", email="s@example.fr", iban=IBAN)
        kleline.merchants.approve(merchant.id, actor=OPERATOR)
        customer = kleline.customers.sign_up("ada@example.org", PASSWORD, "Ada")
        kleline.ledger.post(
            EntryRequest(
                "fund-ada",
                (debit("card:visa:receivable", eur(5000)), credit(purse_code(customer.id), eur(5000))),
                "purse top-up by card",
            )
        )
        payment = kleline.payments.create(merchant.id, PaymentRequest(eur(1250)))
        kleline.payments.confirm(payment.id, customer.id, "purse")
        month = str(Month.of(kleline.clock()))
    finally:
        kleline.close()
    runner = CliRunner()

    out = tmp_path / "statement.csv"
    written = runner.invoke(app, ["statements", merchant.id, "--month", month, "--format", "csv", "--out", str(out)])
    assert written.exit_code == 0, written.output
    assert f"wrote {out}" in written.output
    assert b"\r\nturnover,12.50,EUR\r\n" in out.read_bytes()

    to_stdout = runner.invoke(app, ["statements", merchant.id, "--month", month, "--format", "json"])
    assert to_stdout.exit_code == 0 and b'"turnover":1250' in to_stdout.stdout_bytes

    refused = runner.invoke(
        app, ["statements", merchant.id, "--month", month, "--format", "pdf", "--out", str(tmp_path / "x.pdf")]
    )
    assert refused.exit_code == 1 and "once the month is over" in refused.output
    last_month = runner.invoke(app, ["statements", merchant.id, "--format", "pdf", "--out", str(tmp_path / "i.pdf")])
    # The default is the last month that is over; nothing was paid then, so there is no invoice and no number taken.
    previous = Month.parse(month).previous()
    assert last_month.exit_code == 1 and f"no commission to invoice for {previous}" in last_month.output
    assert not (tmp_path / "i.pdf").exists()
    unknown = runner.invoke(app, ["statements", "mer_nobody", "--month", month])
    assert unknown.exit_code == 1 and "no merchant mer_nobody" in unknown.output

    books = tmp_path / "books.beancount"
    exported = runner.invoke(app, ["ledger", "export", "--format", "beancount", "--out", str(books)])
    assert exported.exit_code == 0, exported.output
    assert "entries (beancount)" in exported.output
    checked = subprocess.run([str(BEAN_CHECK), str(books)], capture_output=True, text=True, timeout=120, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
