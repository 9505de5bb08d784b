"""The dashboard's payouts and statements over HTTP, without JavaScript: each payout with its status, bank account
and the movements it covers; each month's statement and invoice, byte for byte the API's; refusals by role, another
shop's payout a 404, and every download in the audit trail."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pyotp
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kleline.api.app import create_app
from kleline.bootstrap import Kleline, build
from kleline.config import load_settings
from kleline.money import Money

from ..conftest import FakeClock
from .checkout_world import card, customer, fund
from .checkout_world import payment as new_payment
from .dashboard_world import DashboardVisitor, authenticator, member, merchant
from .http import bearer
from .payouts_world import Payouts, payouts_world, people


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    system = build(load_settings(database_url=database_url, sign_in_rate=1000), clock=clock)
    try:
        yield system
    finally:
        system.close()


@pytest.fixture
def app(kleline: Kleline) -> FastAPI:
    return create_app(kleline)


@pytest.fixture
def world(kleline: Kleline, clock: FakeClock) -> Payouts:
    return payouts_world(kleline, clock)


@pytest.fixture
def owners(kleline: Kleline, world: Payouts, clock: FakeClock) -> dict[str, pyotp.TOTP]:
    return people(kleline, world, clock)


def signed_in(app: FastAPI, email: str, owners: dict[str, pyotp.TOTP], clock: FakeClock) -> DashboardVisitor:
    visitor = DashboardVisitor(TestClient(app, follow_redirects=False))
    visitor.sign_in_dashboard(email, owners.get(email), at=clock.now)
    return visitor


def text_of(html: str) -> str:
    """A page's words, without its tags, spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("\u00a0", " ")


def test_every_role_reads_the_payouts_newest_first_with_status_amount_and_masked_account(
    app: FastAPI, world: Payouts, owners: dict[str, pyotp.TOTP], clock: FakeClock
) -> None:
    for email in ("owner@example.org", "accountant@example.org", "support@example.org"):
        page = signed_in(app, email, owners, clock).get("/dashboard/payouts")
        assert page.status_code == 200, email
        words = text_of(page.text)
        shown = [m for m in re.findall(r'href="/dashboard/payouts/(po_[0-9a-f]+)"', page.text)]
        assert shown == list(reversed(world.payouts)), email
        assert world.other_payout not in page.text
        assert "€14.47 sent on 17 Jan 2026" in words and "Sent" in words
        assert "€55.97 sent on 16 Jan 2026" in words and "paid on 17 Jan 2026" in words
        assert "€36.67 sent on 15 Jan 2026" in words and "returned on 16 Jan 2026" in words and "Returned" in words
        assert "To FR •••• 2606" in words and "FR1420041010050500013M02606" not in page.text
        assert 'href="/dashboard/payouts" aria-current="page"' in page.text


def test_the_first_page_says_what_the_next_payout_will_be_as_the_overview_does(
    kleline: Kleline,
    app: FastAPI,
    world: Payouts,
    owners: dict[str, pyotp.TOTP],
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kleline.web.dashboard import payouts

    visitor = signed_in(app, "owner@example.org", owners, clock)
    nothing = "None due: a payout is made once your available balance reaches €10.00."
    words = text_of(visitor.get("/dashboard/payouts").text)
    assert "Next payout" in words and nothing in words  # every sale so far is paid out or on its way
    assert nothing in text_of(visitor.get("/dashboard").text)  # the overview says the same

    buyer = customer(kleline, "buyer@example.org")
    fund(kleline, buyer.id, card(kleline, buyer.id), 2500)  # under the strong-authentication exemption
    kleline.payments.confirm(new_payment(kleline, world.shop, 2500).id, buyer.id, "purse")
    balance = kleline.ledger.balance(f"merchant:{world.shop}:balance").available
    assert 1000 <= balance < 2500  # the sale less its commission, above the minimum
    # Today's run is over (it made the payout in transit): the next one is tomorrow's.
    coming = f"About {Money(balance, 'EUR').format('en')}, with the settlement run of Sun, 18 Jan 2026."
    assert coming in text_of(visitor.get("/dashboard/payouts").text)
    assert coming in text_of(visitor.get("/dashboard").text)

    monkeypatch.setattr(payouts, "_PAGE", 2)
    older = re.search(r'href="(/dashboard/payouts\?after=po_[0-9a-f]+)"', visitor.get("/dashboard/payouts").text)
    assert older
    assert "Next payout" not in visitor.get(older.group(1)).text  # a later page lists older payouts only


def test_a_shop_without_payouts_or_balance_is_told_none_is_due_until_the_minimum(
    kleline: Kleline, app: FastAPI, clock: FakeClock
) -> None:
    shop = merchant(kleline, "Atelier Sud")
    owner = member(kleline, shop, "sud@example.org")
    totp = authenticator(kleline, owner, clock)
    visitor = DashboardVisitor(TestClient(app, follow_redirects=False))
    visitor.sign_in_dashboard("sud@example.org", totp, at=clock.now)
    words = text_of(visitor.get("/dashboard/payouts").text)
    assert "No payout yet." in words
    assert "None due: a payout is made once your available balance reaches €10.00." in words
    assert kleline.settlement.next_payout("mer_unknown").next_amount == 0  # no balance account yet: nothing due


def test_a_payout_shows_its_bank_account_dates_and_the_payments_it_covers(
    app: FastAPI, kleline: Kleline, world: Payouts, owners: dict[str, pyotp.TOTP], clock: FakeClock
) -> None:
    visitor = signed_in(app, "support@example.org", owners, clock)
    returned = visitor.get(f"/dashboard/payouts/{world.payouts[0]}")
    assert returned.status_code == 200
    words = text_of(returned.text)
    assert "Payout of €36.67" in words and "Returned" in words and "the account is closed (AC04)" in words
    assert "Librairie Kléber FR •••• 2606" in words and "FR1420041010050500013M02606" not in returned.text
    assert "this is its first payout" in words
    first, second, third, fourth = world.payments
    for payment in (first, second):  # the sales and the refund before the first run, each linking to its payment
        assert f'href="/dashboard/payments/{payment}"' in returned.text
    assert "CMD-1" in words and "CMD-2" in words and "Refund" in words
    assert "Net of the 3 movements €36.67" in words and "Paid out €36.67" in words
    assert third not in returned.text

    paid = visitor.get(f"/dashboard/payouts/{world.payouts[1]}")
    words = text_of(paid.text)
    assert "Paid on 17 Jan 2026" in words and "Sent on 16 Jan 2026" in words
    assert f'href="/dashboard/payments/{third}"' in paid.text and first not in paid.text
    assert f'href="/dashboard/payouts/{world.payouts[0]}"' in paid.text and "Returned payout" in words
    assert "since your previous payout" in words

    sent = visitor.get(f"/dashboard/payouts/{world.payouts[2]}")
    assert "Kleline has sent the transfer to your bank" in sent.text and fourth in sent.text


def test_a_long_payout_pages_its_movements(
    app: FastAPI, world: Payouts, owners: dict[str, pyotp.TOTP], clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kleline.web.dashboard import payouts

    monkeypatch.setattr(payouts, "_MOVEMENTS_PAGE", 2)
    monkeypatch.setattr(payouts, "_PAGE", 2)
    visitor = signed_in(app, "owner@example.org", owners, clock)
    page = visitor.get(f"/dashboard/payouts/{world.payouts[0]}")
    more = re.search(r'href="(/dashboard/payouts/po_[0-9a-f]+\?after=[0-9.]+)" rel="next"', page.text)
    assert more and page.text.count('href="/dashboard/payments/') == 2
    rest = visitor.get(more.group(1))
    assert rest.status_code == 200 and "Refund" in rest.text and 'rel="next"' not in rest.text
    assert "Net of the 3 movements" in text_of(rest.text)

    listed = visitor.get("/dashboard/payouts")
    older = re.search(r'href="(/dashboard/payouts\?after=po_[0-9a-f]+)" rel="next"', listed.text)
    assert older
    last = visitor.get(older.group(1))
    assert world.payouts[0] in last.text and world.payouts[2] not in last.text
    foreign = visitor.get(f"/dashboard/payouts?after={world.other_payout}")  # starts from the newest, reveals nothing
    assert foreign.status_code == 200 and world.payouts[2] in foreign.text


def test_another_shops_payout_is_a_404_page(
    app: FastAPI, world: Payouts, owners: dict[str, pyotp.TOTP], clock: FakeClock
) -> None:
    visitor = signed_in(app, "fromager@example.org", owners, clock)
    for path in (
        f"/dashboard/payouts/{world.payouts[0]}",
        "/dashboard/payouts/po_nothing",
        "/dashboard/payouts/" + "x" * 60,
    ):
        answer = visitor.get(path)
        assert answer.status_code == 404, path
        assert "Your shop has no such payout." in answer.text and "Librairie" not in answer.text
    own = visitor.get(f"/dashboard/payouts/{world.other_payout}")
    assert own.status_code == 200 and "€28.95" in own.text


def test_statements_list_each_month_since_the_shop_joined_for_owners_and_accountants_only(
    app: FastAPI, kleline: Kleline, world: Payouts, owners: dict[str, pyotp.TOTP], clock: FakeClock
) -> None:
    clock.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    for email in ("owner@example.org", "accountant@example.org"):
        visitor = signed_in(app, email, owners, clock)
        page = visitor.get("/dashboard/statements")
        assert page.status_code == 200, email
        words = text_of(page.text)
        assert words.index("March 2026") < words.index("February 2026") < words.index("January 2026")
        assert "December 2025" not in words
        for month in ("2026-03", "2026-02", "2026-01"):
            for fmt in ("fec", "csv", "json"):
                assert f'href="/dashboard/statements/{month}/{fmt}"' in page.text
        assert 'href="/dashboard/statements/2026-01/pdf"' in page.text
        assert 'href="/dashboard/statements/2026-03/pdf"' not in page.text  # the month runs: no invoice yet
        assert 'href="/dashboard/statements"' in visitor.get("/dashboard").text

    support = signed_in(app, "support@example.org", owners, clock)
    assert 'href="/dashboard/statements"' not in support.get("/dashboard").text
    for path in ("/dashboard/statements", "/dashboard/statements/2026-01/fec", "/dashboard/statements/2026-01/pdf"):
        refused = support.get(path)
        assert refused.status_code == 403 and "Your role in this shop does not allow this" in refused.text, path
    signed_out = DashboardVisitor(TestClient(app, follow_redirects=False))
    for path in ("/dashboard/statements", "/dashboard/statements/2026-01/fec", "/dashboard/payouts"):
        assert signed_out.get(path).headers["location"].startswith("/dashboard/sign-in?next="), path


def test_each_download_is_the_apis_document_and_is_recorded(
    app: FastAPI, kleline: Kleline, world: Payouts, owners: dict[str, pyotp.TOTP], clock: FakeClock
) -> None:
    clock.now = datetime(2026, 2, 3, 9, 0, tzinfo=UTC)
    api = TestClient(app)
    visitor = signed_in(app, "accountant@example.org", owners, clock)
    for fmt, media_type in (
        ("json", "application/json"),
        ("csv", "text/csv; charset=utf-8"),
        ("fec", "text/plain; charset=iso-8859-15"),
        ("pdf", "application/pdf"),
    ):
        page = visitor.get(f"/dashboard/statements/2026-01/{fmt}")
        expected = api.get(f"/v1/merchant-statements/2026-01?format={fmt}", headers=bearer(world.secret))
        assert page.status_code == expected.status_code == 200, (fmt, page.text)
        assert page.headers["content-type"] == expected.headers["content-type"] == media_type
        assert page.content == expected.content, fmt
        assert page.headers["content-disposition"].startswith("attachment; filename=")
        assert expected.headers["content-disposition"].endswith(page.headers["content-disposition"].split(";")[1])
    assert visitor.get("/dashboard/statements/2026-01/pdf").content.startswith(b"%PDF-")

    owner = signed_in(app, "owner@example.org", owners, clock)
    trail = text_of(owner.get("/dashboard/settings/activity").text)
    for fmt in ("JSON", "CSV", "FEC", "PDF"):
        assert f"Downloaded a statement: 2026-01, {fmt}" in trail
    assert trail.count("Anna Accountant (accountant@example.org)") >= 5  # four downloads after signing in


def test_refused_downloads_say_why_in_words(
    app: FastAPI, world: Payouts, owners: dict[str, pyotp.TOTP], clock: FakeClock
) -> None:
    clock.now = datetime(2026, 2, 3, 9, 0, tzinfo=UTC)
    visitor = signed_in(app, "owner@example.org", owners, clock)
    open_month = visitor.get("/dashboard/statements/2026-02/pdf")
    assert open_month.status_code == 409
    assert "The commission invoice for February 2026 is issued once the month is over" in text_of(open_month.text)
    nothing = signed_in(app, "fromager@example.org", owners, clock).get("/dashboard/statements/2025-12/pdf")
    assert nothing.status_code == 409 and "There is no commission invoice for December 2025" in text_of(nothing.text)
    for path in (
        "/dashboard/statements/2026-13/fec",
        "/dashboard/statements/2026-03/json",
        "/dashboard/statements/2026-01/xlsx",
    ):
        answer = visitor.get(path)
        assert answer.status_code == 404 and "There is no such statement." in answer.text, path
    french = visitor.get("/dashboard/statements/2026-02/pdf?lang=fr")
    assert french.status_code == 409 and "février 2026" in french.text
    trail = text_of(visitor.get("/dashboard/settings/activity").text)
    assert "Downloaded a statement" not in trail  # a refused download is not one


def test_statements_are_shown_a_year_a_page(
    app: FastAPI, world: Payouts, owners: dict[str, pyotp.TOTP], clock: FakeClock
) -> None:
    clock.now = datetime(2027, 2, 10, 9, 0, tzinfo=UTC)
    visitor = signed_in(app, "accountant@example.org", owners, clock)
    this_year = text_of(visitor.get("/dashboard/statements").text)
    assert "February 2027" in this_year and "January 2027" in this_year and "December 2026" not in this_year
    last_year = visitor.get("/dashboard/statements?year=2026")
    assert 'href="/dashboard/statements?year=2026" aria-current="page"' in last_year.text
    words = text_of(last_year.text)
    assert words.index("December 2026") < words.index("January 2026") and "January 2027" not in words
    assert 'href="/dashboard/statements?year=2027"' in last_year.text
    assert "February 2027" in text_of(visitor.get("/dashboard/statements?year=1999").text)  # none: the newest
