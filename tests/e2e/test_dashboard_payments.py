"""The dashboard's payments over HTTP, without JavaScript: the list searched, filtered and paged, its CSV export, a
payment's page (timeline, refunds, receipts), capture and cancel, refunds in part with a fresh second factor, once
however often the form is sent; refusals by role and by the support role's limit, and another shop's payment a 404."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import pyotp
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kleline.api.app import create_app
from kleline.bootstrap import Kleline, build
from kleline.config import load_settings
from kleline.merchant_users import Actor, AuditRecord
from kleline.payments.model import Payment, PaymentRequest
from kleline.wallet.model import Customer

from ..conftest import FakeClock
from .checkout_world import card, customer, eur, fund
from .dashboard_world import DashboardVisitor, authenticator, member, merchant
from .page_visitor import alert

_FORM_KEY = re.compile(r'name="form_key" value="([^"]+)"')


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    """Kleline whose limits leave room for a test's sign-ins and payments without strong authentication."""
    settings = load_settings(
        database_url=database_url, sign_in_rate=1000, sca_single_limit=20_000, sca_cumulative_limit=1_000_000
    )
    system = build(settings, clock=clock)
    try:
        yield system
    finally:
        system.close()


@pytest.fixture
def app(kleline: Kleline) -> FastAPI:
    return create_app(kleline)


def visitor(app: FastAPI) -> DashboardVisitor:
    return DashboardVisitor(TestClient(app, follow_redirects=False))


def paid(kleline: Kleline, who: Customer, shop: str, minor: int, reference: str, *, manual: bool = False) -> Payment:
    """A payment of ``minor`` cents the customer made from the purse (authorised only when ``manual``)."""
    request = PaymentRequest(eur(minor), f"Order {reference}", reference, "manual" if manual else "automatic")
    created = kleline.payments.create(shop, request)
    done = kleline.payments.confirm(created.id, who.id, "purse")
    assert done.status == ("authorized" if manual else "succeeded"), done
    return done


class World:
    def __init__(self, kleline: Kleline, app: FastAPI, clock: FakeClock) -> None:
        self.kleline, self.app, self.clock = kleline, app, clock
        self.shop = merchant(kleline)
        self.other_shop = merchant(kleline, "Fromagerie Ancienne")
        self.ada = customer(kleline)
        visa = card(kleline, self.ada.id)
        fund(kleline, self.ada.id, visa, 15_000)
        self.book = paid(kleline, self.ada, self.shop, 4200, "ORDER-BOOK")
        clock.advance(seconds=5)
        self.pen = paid(kleline, self.ada, self.shop, 1250, "order-pen")
        clock.advance(seconds=5)
        self.held = paid(kleline, self.ada, self.shop, 3000, "order-held", manual=True)
        clock.advance(seconds=5)
        self.cheese = paid(kleline, self.ada, self.other_shop, 900, "cheese")
        self.owner = member(kleline, self.shop, "owner@example.org")
        self.totp = authenticator(kleline, self.owner, clock)
        self.support = member(kleline, self.shop, "support@example.org", "support", refund_limit=2000)
        self.support_totp = authenticator(kleline, self.support, clock)
        self.accountant = member(kleline, self.shop, "acc@example.org", "accountant")

    def signed_in(self, email: str = "owner@example.org", totp: pyotp.TOTP | None = None) -> DashboardVisitor:
        browser = visitor(self.app)
        code = totp if totp is not None else (self.totp if email == "owner@example.org" else None)
        if email == "support@example.org":
            code = self.support_totp
        self.clock.advance(seconds=30)
        browser.sign_in_dashboard(email, code, at=self.clock.now if code else None, next_path="/dashboard/payments")
        return browser


@pytest.fixture
def world(kleline: Kleline, app: FastAPI, clock: FakeClock) -> World:
    return World(kleline, app, clock)


def _records(world: World, action: str) -> list[AuditRecord]:
    return [record for record in world.kleline.merchant_users.activity(Actor(world.owner)) if record.action == action]


def _lines(page: str) -> list[str]:
    found = re.findall(r'<li class="activity-line".*?</li>', page, re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", line)).strip() for line in found]


def _link(page: str, rel: str) -> str | None:
    found = re.search(rf'<a rel="{rel}" href="([^"]+)"', page)
    return found.group(1).replace("&amp;", "&") if found else None


def test_the_list_shows_the_shops_payments_newest_first_searched_and_filtered(world: World) -> None:
    browser = world.signed_in()
    page = browser.get("/dashboard/payments")
    assert page.status_code == 200
    lines = _lines(page.text)
    assert [line.split(" ")[0] for line in lines] == ["order-held", "order-pen", "ORDER-BOOK"]
    assert "€42.00" in lines[2] and "Paid" in lines[2] and "Kleline purse" in lines[2]
    assert "cheese" not in page.text  # another shop's
    assert 'href="/dashboard/payments/export.csv"' in page.text
    assert 'aria-current="page">Payments</a>' in page.text

    assert [line.split(" ")[0] for line in _lines(browser.get("/dashboard/payments?q=order-b").text)] == ["ORDER-BOOK"]
    assert [line.split(" ")[0] for line in _lines(browser.get("/dashboard/payments?q=12,50").text)] == ["order-pen"]
    assert [line.split(" ")[0] for line in _lines(browser.get(f"/dashboard/payments?q={world.book.id}").text)] == [
        "ORDER-BOOK"
    ]
    authorised = browser.get("/dashboard/payments?status=authorized&method=purse")
    assert [line.split(" ")[0] for line in _lines(authorised.text)] == ["order-held"]
    assert 'href="/dashboard/payments/export.csv?status=authorized&amp;method=purse"' in authorised.text
    none = browser.get("/dashboard/payments?q=nothing-like-this&created_from=2020-01-01")
    assert none.status_code == 200 and "No payment matches this search" in none.text
    assert 'value="nothing-like-this"' in none.text  # the values typed are kept

    bad = browser.get("/dashboard/payments?status=lost&method=cheque&created_from=yesterday&created_to=2020-13-01")
    assert bad.status_code == 400
    summary = alert(bad)
    for field in ("status", "method", "created_from", "created_to"):
        assert f'href="#{field}"' in summary, field
    backwards = browser.get("/dashboard/payments?created_from=2026-02-01&created_to=2026-01-01")
    assert backwards.status_code == 400 and 'href="#created_to"' in alert(backwards)

    french = browser.get("/dashboard/payments?lang=fr")
    assert "42,00\xa0€" in french.text and "Payé" in french.text


def test_a_day_in_the_filters_is_the_paris_day_the_list_shows(world: World) -> None:
    world.clock.now = world.clock.now.replace(hour=23, minute=30)  # 23:30 UTC on the 15th: 00:30 on the 16th in Paris
    late = paid(world.kleline, world.ada, world.shop, 700, "order-late")
    browser = world.signed_in()
    sixteenth = browser.get("/dashboard/payments?created_from=2026-01-16&created_to=2026-01-16")
    assert [line.split(" ")[0] for line in _lines(sixteenth.text)] == ["order-late"]
    assert "16 Jan 2026" in _lines(sixteenth.text)[0] and late.created_at.day == 15
    fifteenth = browser.get("/dashboard/payments?created_from=2026-01-15&created_to=2026-01-15")
    assert [line.split(" ")[0] for line in _lines(fifteenth.text)] == ["order-held", "order-pen", "ORDER-BOOK"]


def test_a_new_shop_sees_the_empty_state(kleline: Kleline, app: FastAPI, clock: FakeClock) -> None:
    shop = merchant(kleline)
    owner = member(kleline, shop, "owner@example.org")
    totp = authenticator(kleline, owner, clock)
    browser = visitor(app)
    page = browser.sign_in_dashboard("owner@example.org", totp, at=clock.now, next_path="/dashboard/payments")
    assert page.status_code == 200 and "No payment yet" in page.text and _lines(page.text) == []


def test_pages_go_older_and_back_with_cursors(world: World) -> None:
    for number in range(30):
        world.clock.advance(seconds=1)
        paid(world.kleline, world.ada, world.shop, 100 + number, f"bulk-{number:02d}")
    browser = world.signed_in()
    first = browser.get("/dashboard/payments?method=purse")
    assert len(_lines(first.text)) == 25 and _link(first.text, "prev") is None
    older = _link(first.text, "next")
    assert older is not None and "method=purse" in older
    second = browser.get(older)
    assert len(_lines(second.text)) == 8 and _link(second.text, "next") is None
    assert _lines(second.text)[-1].startswith("ORDER-BOOK")
    newer = _link(second.text, "prev")
    assert newer is not None
    assert _lines(browser.get(newer).text) == _lines(first.text)
    assert browser.get("/dashboard/payments?cursor=not-a-cursor!").status_code == 200  # starts from the newest


def test_the_export_is_the_filtered_list_as_csv_for_owners_and_accountants(world: World) -> None:
    browser = world.signed_in()
    answer = browser.get("/dashboard/payments/export.csv?status=succeeded")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert 'filename="payments.csv"' in answer.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0][:3] == ["id", "created_at", "status"]
    assert [row[0] for row in rows[1:]] == [world.pen.id, world.book.id]
    assert browser.get("/dashboard/payments/export.csv?status=lost").headers["location"] == (
        "/dashboard/payments?status=lost"
    )
    exported = _records(world, "payments_exported")
    assert [record.detail for record in exported] == [{"status": "succeeded"}]

    accountant = world.signed_in("acc@example.org")
    assert accountant.get("/dashboard/payments/export.csv").status_code == 200
    support = world.signed_in("support@example.org")
    refused = support.get("/dashboard/payments/export.csv")
    assert refused.status_code == 403 and "does not allow" in refused.text
    assert "export.csv" not in support.get("/dashboard/payments").text


def test_a_payments_page_shows_its_figures_timeline_and_receipt(world: World) -> None:
    browser = world.signed_in()
    page = browser.get(f"/dashboard/payments/{world.book.id}")
    assert page.status_code == 200
    assert "ORDER-BOOK" in page.text and "Order ORDER-BOOK" in page.text
    # The customer as the API shows it to merchants: its pseudonym for this shop, never its own id or its email.
    assert world.kleline.disclosure.pseudonym(world.book.merchant_id, world.ada.id) in page.text
    assert world.ada.id not in page.text and world.ada.email not in page.text
    assert "Email not shared" in page.text
    assert "Created, €42.00" in page.text and "Paid" in page.text
    assert f'href="/dashboard/payments/{world.book.id}/receipts/{world.book.id}"' in page.text
    receipt = browser.get(f"/dashboard/payments/{world.book.id}/receipts/{world.book.id}")
    assert receipt.status_code == 200 and world.book.id in receipt.text and world.ada.id not in receipt.text
    assert 'name="amount"' in page.text and 'value="42.00"' in page.text
    assert browser.get(f"/dashboard/payments/{world.book.id}/receipts/{world.cheese.id}").status_code == 404


@pytest.mark.parametrize("role", ["owner@example.org", "acc@example.org", "support@example.org"])
def test_another_shops_payment_is_the_not_found_page_for_every_role(world: World, role: str) -> None:
    browser = world.signed_in(role)
    for path in (
        f"/dashboard/payments/{world.cheese.id}",
        "/dashboard/payments/pay_doesnotexist",
        f"/dashboard/payments/{world.cheese.id}/receipts/{world.cheese.id}",
    ):
        answer = browser.get(path)
        assert answer.status_code == 404, path
        assert "Your shop has no payment with this id" in answer.text or "no receipt" in answer.text
        assert "cheese" not in answer.text
    if role != "acc@example.org":
        browser.get("/dashboard/payments")
        answer = browser.post(f"/dashboard/payments/{world.cheese.id}/refund", amount="1.00", form_key="k" * 24)
        assert answer.status_code == 404
    assert world.kleline.refunds.list(payment_id=world.cheese.id) == []


def _refund_form(browser: DashboardVisitor, payment_id: str) -> str:
    page = browser.get(f"/dashboard/payments/{payment_id}")
    found = _FORM_KEY.search(page.text)
    assert found, page.text
    return found.group(1)


def test_an_owner_refunds_part_of_a_payment_after_a_fresh_code_once_however_often_it_is_sent(world: World) -> None:
    browser = world.signed_in()
    world.clock.advance(minutes=16)
    key = _refund_form(browser, world.book.id)
    asked = browser.post(f"/dashboard/payments/{world.book.id}/refund", amount="10,50", form_key=key)
    assert asked.status_code == 303
    assert asked.headers["location"].startswith("/dashboard/confirm?next=")
    assert world.kleline.refunds.list(payment_id=world.book.id) == []
    browser.get(asked.headers["location"])
    back = browser.post(
        "/dashboard/confirm",
        code=world.totp.at(world.clock.now),
        next=f"/dashboard/payments/{world.book.id}?amount=10%2C50",
    )
    assert back.headers["location"] == f"/dashboard/payments/{world.book.id}?amount=10%2C50"
    key = _FORM_KEY.search(browser.get(back.headers["location"]).text)
    assert key is not None
    first = browser.post(f"/dashboard/payments/{world.book.id}/refund", amount="10,50", form_key=key.group(1))
    assert (first.status_code, first.headers["location"]) == (303, f"/dashboard/payments/{world.book.id}")
    again = browser.post(f"/dashboard/payments/{world.book.id}/refund", amount="10,50", form_key=key.group(1))
    assert again.headers["location"] == first.headers["location"]
    refunds = world.kleline.refunds.list(payment_id=world.book.id)
    assert [refund.amount.minor for refund in refunds] == [1050]
    page = browser.get(first.headers["location"])
    assert "The refund is made" in page.text and "Refund made" in page.text and "€10.50" in page.text
    assert "The refund is made" not in browser.get(first.headers["location"]).text  # the note is shown once
    assert 'value="31.50"' in page.text
    assert f"/receipts/{refunds[0].id}" in page.text
    records = _records(world, "refund_created")
    assert len(records) == 1 and records[0].object_id == world.book.id
    assert records[0].detail["amount"] == 1050 and records[0].user_id == world.owner.id


def test_refund_refusals_are_worded_all_at_once_and_keep_the_amount(world: World) -> None:
    browser = world.signed_in()
    key = _refund_form(browser, world.pen.id)
    too_much = browser.post(f"/dashboard/payments/{world.pen.id}/refund", amount="99.00", form_key=key)
    assert too_much.status_code == 400
    assert "refund_exceeds_captured" in alert(too_much) and 'href="#refund-amount"' in alert(too_much)
    assert 'value="99.00"' in too_much.text
    not_amount = browser.post(f"/dashboard/payments/{world.pen.id}/refund", amount="12.505", form_key=key)
    assert not_amount.status_code == 400 and "validation_error" in alert(not_amount)
    no_key = browser.post(f"/dashboard/payments/{world.pen.id}/refund", amount="1.00")
    assert no_key.status_code == 400
    authorised = browser.post(f"/dashboard/payments/{world.held.id}/refund", amount="1.00", form_key=key)
    assert authorised.status_code == 409 and "payment_unexpected_state" in alert(authorised)
    assert world.kleline.refunds.list(payment_id=world.pen.id) == []
    french = browser.post(f"/dashboard/payments/{world.pen.id}/refund?lang=fr", amount="99.00", form_key=key)
    assert "refund_exceeds_captured" in alert(french)


def test_a_support_user_refunds_up_to_its_limit_and_is_refused_above_it(world: World) -> None:
    browser = world.signed_in("support@example.org")
    key = _refund_form(browser, world.book.id)
    above = browser.post(f"/dashboard/payments/{world.book.id}/refund", amount="42.00", form_key=key)
    assert above.status_code == 403
    assert "Your refund limit is €20.00 per payment" in alert(above) and "refund_above_limit" in alert(above)
    assert world.kleline.refunds.list(payment_id=world.book.id) == []
    within = browser.post(f"/dashboard/payments/{world.book.id}/refund", amount="20", form_key=key)
    assert within.headers["location"] == f"/dashboard/payments/{world.book.id}"
    assert "The refund is made" in browser.get(within.headers["location"]).text
    assert [refund.amount.minor for refund in world.kleline.refunds.list(payment_id=world.book.id)] == [2000]
    french = browser.post(f"/dashboard/payments/{world.pen.id}/refund?lang=fr", amount="", form_key=key)
    assert french.status_code in (400, 409)  # the key was used for the other refund
    # Capturing or canceling an authorisation is the owner's alone: a support user refunds, within its limit.
    assert "/capture" not in browser.get(f"/dashboard/payments/{world.held.id}").text
    for action in ("capture", "cancel"):
        assert browser.post(f"/dashboard/payments/{world.held.id}/{action}").status_code == 403, action
    assert world.kleline.payments.get(world.held.id).status == "authorized"


def test_an_accountant_reads_but_moves_no_money(world: World) -> None:
    browser = world.signed_in("acc@example.org")
    page = browser.get(f"/dashboard/payments/{world.held.id}")
    assert page.status_code == 200 and "/capture" not in page.text
    assert 'name="amount"' not in browser.get(f"/dashboard/payments/{world.book.id}").text
    for action in ("capture", "cancel", "refund"):
        answer = browser.post(f"/dashboard/payments/{world.held.id}/{action}", amount="1.00", form_key="k" * 24)
        assert answer.status_code == 403, action
    assert world.kleline.payments.get(world.held.id).status == "authorized"


def test_an_owner_captures_one_authorisation_and_cancels_another(world: World) -> None:
    other = paid(world.kleline, world.ada, world.shop, 700, "order-other", manual=True)
    browser = world.signed_in()
    page = browser.get(f"/dashboard/payments/{world.held.id}")
    assert "Capture €30.00" in page.text
    done = browser.post(f"/dashboard/payments/{world.held.id}/capture")
    assert done.headers["location"] == f"/dashboard/payments/{world.held.id}"
    assert "The payment is captured" in browser.get(done.headers["location"]).text
    assert world.kleline.payments.get(world.held.id).status == "succeeded"
    again = browser.post(f"/dashboard/payments/{world.held.id}/capture")  # a second click changes nothing
    assert again.headers["location"] == f"/dashboard/payments/{world.held.id}"
    browser.get(f"/dashboard/payments/{other.id}")
    canceled = browser.post(f"/dashboard/payments/{other.id}/cancel")
    assert canceled.headers["location"] == f"/dashboard/payments/{other.id}"
    assert "The payment is canceled" in browser.get(canceled.headers["location"]).text
    assert world.kleline.payments.get(other.id).status == "canceled"
    assert [record.object_id for record in _records(world, "payment_captured")] == [world.held.id]
    assert [record.object_id for record in _records(world, "payment_canceled")] == [other.id]
    assert "Captured a payment" in browser.get("/dashboard/settings/activity").text
