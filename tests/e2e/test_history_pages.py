"""The wallet's history over HTTP: the activity page (purse movements and card payments, newest first, paged, by
month), its CSV file, the customer's receipts and the public page that checks a receipt file."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kleline.api.app import create_app
from kleline.bootstrap import Kleline, build
from kleline.cli import app as cli
from kleline.config import load_settings
from kleline.payments.model import Payment
from kleline.receipts import verify
from kleline.wallet.model import Customer
from kleline.web.history import PER_PAGE

from ..conftest import FakeClock
from .checkout_world import MASTERCARD, card, customer, eur, fund, payment, shop
from .page_visitor import Visitor, alert

GRACE = "grace@example.org"


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    """Kleline where every payment of these tests skips strong authentication (their subject is the history; the
    challenge has tests of its own)."""
    settings = load_settings(
        database_url=database_url, sca_single_limit=10_000, sca_cumulative_limit=10**9, sca_max_payments=10**6
    )
    system = build(settings, clock=clock)
    try:
        yield system
    finally:
        system.close()


@pytest.fixture
def browser(kleline: Kleline) -> Iterator[Visitor]:
    with TestClient(create_app(kleline), follow_redirects=False) as client:
        yield Visitor(client)


def paid(kleline: Kleline, who: Customer, merchant_id: str, minor: int, card_id: str | None = None) -> Payment:
    """A payment of ``minor`` cents the customer made, from the purse or with the card, captured at once."""
    created = payment(kleline, merchant_id, minor)
    done = kleline.payments.confirm(created.id, who.id, "card" if card_id else "purse", card_id=card_id)
    assert done.status == "succeeded", done
    return done


def lines(page: str) -> list[str]:
    """The activity lines of a page, as text (title, when, how, amount), in order."""
    found = re.findall(r'<li class="activity-line".*?</li>', page, re.S)
    return [re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", line)).strip() for line in found]


def older_link(page: str) -> str | None:
    found = re.search(r'<a rel="next" href="([^"]+)"', page)
    return found.group(1).replace("&amp;", "&") if found else None


@pytest.fixture
def world(kleline: Kleline, clock: FakeClock) -> dict[str, object]:
    """Ada tops up 50 EUR, pays 12.50 from her purse, 9.00 by card, and is refunded 5.00 of the purse payment;
    Grace, another customer, pays too, and is refunded part of it."""
    merchant = shop(kleline)
    ada = customer(kleline)
    visa = card(kleline, ada.id)
    fund(kleline, ada.id, visa, 5000)
    clock.advance(minutes=1)
    from_purse = paid(kleline, ada, merchant, 1250)
    clock.advance(minutes=1)
    by_card = paid(kleline, ada, merchant, 900, visa)
    clock.advance(minutes=1)
    refund = kleline.refunds.refund(merchant, from_purse.id, eur(500))
    grace = customer(kleline, GRACE, "Grace Hopper")
    graces_card = card(kleline, grace.id, MASTERCARD)
    fund(kleline, grace.id, graces_card, 7700)
    graces = paid(kleline, grace, merchant, 4321)
    graces_refund = kleline.refunds.refund(merchant, graces.id, eur(1000))
    return {
        "merchant": merchant,
        "ada": ada,
        "purse": from_purse,
        "card": by_card,
        "refund": refund,
        "grace": graces,
        "grace_refund": graces_refund,
    }


# --- the activity page --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/wallet/activity", "/wallet/activity.csv", "/wallet/receipts/pay_1"])
def test_a_signed_out_visitor_is_sent_to_sign_in(kleline: Kleline, browser: Visitor, path: str) -> None:
    response = browser.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in?next=")


def test_the_activity_shows_every_movement_and_card_payment_newest_first_with_refunds_beside_their_payment(
    browser: Visitor, world: dict[str, object]
) -> None:
    page = browser.sign_in_to("/wallet/activity")
    assert page.status_code == 200
    assert 'aria-current="page">Activity' in page.text
    shown = lines(page.text)
    assert len(shown) == 4
    assert shown[0].startswith("Librairie Kléber") and "Refund to your purse" in shown[0]
    assert "Refund of your payment of 15 Jan 2026" in shown[0] and "€5.00" in shown[0] and "Purse: €42.50" in shown[0]
    assert "Paid by card" in shown[1] and "-€9.00" in shown[1] and "Purse:" not in shown[1]
    assert "Paid from your purse" in shown[2] and "-€12.50" in shown[2] and "Refunded so far: €5.00" in shown[2]
    assert "Les Misérables, 2 vol." in shown[2]
    assert shown[3].startswith("Top-up by card") and "€50.00" in shown[3] and "Purse: €50.00" in shown[3]
    assert "15 Jan 2026, 10:30" in shown[3]  # 09:30 UTC, in Paris
    refund, by_card = world["refund"], world["card"]
    assert f'href="/wallet/receipts/{refund.id}"' in page.text  # type: ignore[attr-defined]
    assert f'href="/wallet/receipts/{by_card.id}"' in page.text  # type: ignore[attr-defined]
    assert "43.21" not in page.text  # Grace's payment


def test_the_activity_in_french_formats_amounts_and_dates_for_france(
    browser: Visitor, world: dict[str, object]
) -> None:
    page = browser.sign_in_to("/wallet/activity?lang=fr")
    shown = lines(page.text)
    assert "Remboursement sur votre porte-monnaie" in shown[0]
    assert "5,00\xa0€" in shown[0] and "15 janv. 2026" in shown[0]
    assert "-9,00\xa0€" in shown[1]
    assert '<option value="2026-01" selected>' not in page.text and "janvier 2026" in page.text


def test_an_empty_wallet_says_so(kleline: Kleline, browser: Visitor) -> None:
    customer(kleline)
    page = browser.sign_in_to("/wallet/activity")
    assert lines(page.text) == []
    assert "Nothing yet" in page.text
    assert 'rel="next"' not in page.text


def test_the_activity_pages_on_through_purse_and_card_items_without_repeating_or_skipping_one(
    kleline: Kleline, browser: Visitor, clock: FakeClock
) -> None:
    merchant = shop(kleline)
    ada = customer(kleline)
    visa = card(kleline, ada.id)
    fund(kleline, ada.id, visa, 9000)
    expected = ["€90.00"]
    for cents in range(101, 101 + 2 * PER_PAGE + 5):  # alternately by card and from the purse
        clock.advance(seconds=30)
        paid(kleline, ada, merchant, cents, visa if cents % 2 else None)
        expected.append(f"-€{cents // 100}.{cents % 100:02d}")
    expected.reverse()
    seen: list[str] = []
    page = browser.sign_in_to("/wallet/activity")
    pages = 0
    while True:
        pages += 1
        shown = lines(page.text)
        assert len(shown) <= PER_PAGE
        seen += [re.findall(r"-?€\d+\.\d\d", line)[0] for line in shown]
        link = older_link(page.text)
        if link is None:
            break
        assert pages == 1 or "Newest" in page.text
        page = browser.get(link)
        assert page.status_code == 200
    assert pages == 3
    assert seen == expected


def test_the_month_filter_shows_one_month_and_keeps_paging_within_it(
    kleline: Kleline, browser: Visitor, clock: FakeClock
) -> None:
    merchant = shop(kleline)
    ada = customer(kleline)
    visa = card(kleline, ada.id)
    fund(kleline, ada.id, visa, 3000)
    clock.advance(minutes=1)
    paid(kleline, ada, merchant, 111, visa)
    clock.advance(days=31)  # February
    fund(kleline, ada.id, visa, 3000)
    for cents in range(201, 201 + PER_PAGE):
        clock.advance(minutes=1)
        paid(kleline, ada, merchant, cents)
    clock.advance(days=31)  # March: nothing
    january = browser.sign_in_to("/wallet/activity?month=2026-01")
    assert len(lines(january.text)) == 2 and "-€1.11" in lines(january.text)[0]
    assert '<option value="2026-01" selected>January 2026</option>' in january.text
    assert '<option value="2026-03">March 2026</option>' in january.text
    assert 'href="/wallet/activity.csv?month=2026-01"' in january.text
    february = browser.get("/wallet/activity?month=2026-02")
    assert len(lines(february.text)) == PER_PAGE
    link = older_link(february.text)
    assert link is not None and "month=2026-02" in link
    rest = lines(browser.get(link).text)
    assert len(rest) == 1 and "€30.00" in rest[0]  # February's top-up, and nothing of January
    march = browser.get("/wallet/activity?month=2026-03")
    assert lines(march.text) == [] and "Nothing happened in your wallet this month." in march.text


@pytest.mark.parametrize("query", ["month=2026-13", "month=january", "after=nonsense", "after=1.2~3"])
def test_a_bad_month_or_page_address_is_refused_with_a_message(
    browser: Visitor, world: dict[str, object], query: str
) -> None:
    browser.sign_in_to("/wallet")
    page = browser.get(f"/wallet/activity?{query}")
    assert page.status_code == 400
    assert "validation_error" in alert(page)
    assert lines(page.text) == []


# --- CSV ----------------------------------------------------------------------------------------------------------


def test_the_csv_has_a_header_and_every_line_with_decimal_amounts(browser: Visitor, world: dict[str, object]) -> None:
    browser.sign_in_to("/wallet")
    response = browser.get("/wallet/activity.csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="kleline-activity-all.csv"'
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == [
        "date",
        "kind",
        "method",
        "merchant",
        "description",
        "amount",
        "currency",
        "balance_after",
        "payment_id",
        "refund_id",
        "pending",
    ]
    assert [(r["kind"], r["method"], r["amount"], r["balance_after"]) for r in rows] == [
        ("refund", "purse", "5.00", "42.50"),
        ("payment", "card", "-9.00", ""),
        ("payment", "purse", "-12.50", "37.50"),
        ("top_up_card", "purse", "50.00", "50.00"),
    ]
    assert rows[0]["refund_id"] == world["refund"].id  # type: ignore[attr-defined]
    assert rows[1]["payment_id"] == world["card"].id  # type: ignore[attr-defined]
    assert rows[2]["merchant"] == "Librairie Kléber" and rows[2]["description"] == "Les Misérables, 2 vol."
    assert rows[3]["date"] == "2026-01-15T10:30:00+01:00"
    assert sum(Decimal(r["amount"]) for r in rows) == Decimal("33.50")


def test_the_csv_follows_the_month_filter_and_holds_more_than_a_page(
    kleline: Kleline, browser: Visitor, clock: FakeClock
) -> None:
    merchant = shop(kleline)
    ada = customer(kleline)
    visa = card(kleline, ada.id)
    fund(kleline, ada.id, visa, 100)
    clock.advance(days=31)
    for cents in range(1, 131):
        clock.advance(seconds=10)
        paid(kleline, ada, merchant, 100 + cents, visa)
    browser.sign_in_to("/wallet")
    response = browser.get("/wallet/activity.csv?month=2026-02")
    assert response.headers["content-disposition"] == 'attachment; filename="kleline-activity-2026-02.csv"'
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 130
    assert [r["amount"] for r in rows[:2]] == ["-2.30", "-2.29"] and rows[-1]["amount"] == "-1.01"
    assert all(r["kind"] == "payment" for r in rows)
    january = list(csv.DictReader(io.StringIO(browser.get("/wallet/activity.csv?month=2026-01").text)))
    assert [r["amount"] for r in january] == ["1.00"]


# --- receipts -----------------------------------------------------------------------------------------------------


def test_a_receipt_reads_as_a_person_reads_it_and_downloads_as_the_signed_file(
    kleline: Kleline, browser: Visitor, world: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_purse = world["purse"]
    assert isinstance(from_purse, Payment)
    page = browser.sign_in_to(f"/wallet/receipts/{from_purse.id}")
    assert page.status_code == 200
    assert "<h1>Receipt of a payment</h1>" in page.text
    assert "Librairie Kléber" in page.text and "€12.50" in page.text and "15 Jan 2026, 10:31" in page.text
    assert "€0.44, paid by the merchant out of this amount" in page.text
    download = browser.get(f"/wallet/receipts/{from_purse.id}/download")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/json"
    assert download.headers["content-disposition"] == f'attachment; filename="kleline-receipt-{from_purse.id}.json"'
    receipt = verify(json.loads(download.content), kleline.receipts.public_keys())
    assert from_purse.customer_id is not None
    assert (receipt.payment_id, receipt.amount, receipt.customer_id) == (
        from_purse.id,
        eur(1250),
        kleline.disclosure.pseudonym(from_purse.merchant_id, from_purse.customer_id),  # as its merchant knows them
    )
    file = tmp_path / "receipt.json"
    file.write_bytes(download.content)
    for variable in ("KLELINE_RECEIPT_SIGNING_KEYS", "KLELINE_ENV"):
        monkeypatch.delenv(variable, raising=False)
    result = CliRunner().invoke(cli, ["receipt", "verify", str(file)])
    assert result.exit_code == 0, result.output
    assert f"valid receipt {receipt.receipt_id}" in result.output and "12.50 EUR" in result.output


def test_a_refund_has_its_receipt_too_in_french(browser: Visitor, world: dict[str, object]) -> None:
    refund, from_purse = world["refund"], world["purse"]
    page = browser.sign_in_to(f"/wallet/receipts/{refund.id}?lang=fr")  # type: ignore[attr-defined]
    assert page.status_code == 200
    assert "Reçu d’un remboursement" in page.text and "5,00\xa0€" in page.text and "15 janv. 2026" in page.text
    assert (
        f'<a href="/wallet/receipts/{from_purse.id}">'  # type: ignore[attr-defined]
        "Remboursement de votre paiement de 12,50\xa0€ du 15 janv. 2026</a>"
    ) in page.text
    assert "Ce que vous avez acheté chez Librairie Kléber\xa0: Les Misérables, 2 vol." in page.text
    payments = browser.get(f"/wallet/receipts/{from_purse.id}?lang=fr")  # type: ignore[attr-defined]
    assert "Remboursements de ce paiement" in payments.text and "5,00\xa0€ remboursés le 15 janv. 2026" in payments.text


def test_a_payments_receipt_shows_what_was_bought_and_links_to_the_receipt_of_each_refund(
    kleline: Kleline, browser: Visitor, world: dict[str, object], clock: FakeClock
) -> None:
    from_purse, refund = world["purse"], world["refund"]
    assert isinstance(from_purse, Payment)
    clock.advance(days=2)
    second = kleline.refunds.refund(str(world["merchant"]), from_purse.id, eur(250))
    page = browser.sign_in_to(f"/wallet/receipts/{from_purse.id}")
    assert "What you bought from Librairie Kléber: Les Misérables, 2 vol." in page.text
    assert '<dd class="receipt-merchant">Librairie Kléber</dd>' in page.text
    refunds = re.search(r'<ul class="receipt-refunds">(.*?)</ul>', page.text, re.S)
    assert refunds is not None
    assert re.findall(r'<a href="([^"]+)">([^<]+)</a>', refunds.group(1)) == [
        (f"/wallet/receipts/{refund.id}", "€5.00 refunded on 15 Jan 2026"),  # type: ignore[attr-defined]
        (f"/wallet/receipts/{second.id}", "€2.50 refunded on 17 Jan 2026"),
    ]
    assert "Refund of your payment" not in page.text
    # ... and each refund's receipt leads back to the payment's.
    for each in (refund.id, second.id):  # type: ignore[attr-defined]
        back = browser.get(f"/wallet/receipts/{each}")
        assert back.status_code == 200 and "<h1>Receipt of a refund</h1>" in back.text
        assert (
            f'<a href="/wallet/receipts/{from_purse.id}">Refund of your payment of €12.50 on 15 Jan 2026</a>'
        ) in back.text
        assert "What you bought from Librairie Kléber: Les Misérables, 2 vol." in back.text
        assert "Refunds of this payment" not in back.text


def test_a_payment_without_refunds_or_description_shows_neither(
    kleline: Kleline, browser: Visitor, world: dict[str, object]
) -> None:
    by_card = world["card"]
    page = browser.sign_in_to(f"/wallet/receipts/{by_card.id}")  # type: ignore[attr-defined]
    assert page.status_code == 200 and "What you bought" in page.text
    assert "Refunds of this payment" not in page.text and 'class="receipt-refunds"' not in page.text
    plain = payment(kleline, str(world["merchant"]), 300, description=None)
    kleline.payments.confirm(plain.id, world["ada"].id, "purse")  # type: ignore[attr-defined]
    page = browser.get(f"/wallet/receipts/{plain.id}")
    assert page.status_code == 200 and "€3.00" in page.text
    assert "What you bought" not in page.text and "Refunds of this payment" not in page.text


def test_what_was_bought_is_shown_as_the_merchant_wrote_it_never_as_markup(
    kleline: Kleline, browser: Visitor, world: dict[str, object]
) -> None:
    described = '<script>alert("gotcha")</script> <b>Tom & Jerry</b> <a href="https://evil.example">mug</a>'
    made = payment(kleline, str(world["merchant"]), 700, description=described)
    done = kleline.payments.confirm(made.id, world["ada"].id, "purse")  # type: ignore[attr-defined]
    refund = kleline.refunds.refund(str(world["merchant"]), done.id, eur(100))
    browser.sign_in_to("/wallet")
    for object_id in (done.id, refund.id):
        page = browser.get(f"/wallet/receipts/{object_id}")
        assert page.status_code == 200
        assert "<script>alert" not in page.text and "<b>Tom" not in page.text and 'evil.example">' not in page.text
        assert (
            "What you bought from Librairie Kléber: &lt;script&gt;alert(&#34;gotcha&#34;)&lt;/script&gt; "
            "&lt;b&gt;Tom &amp; Jerry&lt;/b&gt; &lt;a href=&#34;https://evil.example&#34;&gt;mug&lt;/a&gt;"
        ) in page.text
    overview = browser.get("/wallet")
    assert "<script>alert" not in overview.text and "&lt;script&gt;alert(&#34;gotcha&#34;)" in overview.text


@pytest.mark.parametrize("whose", ["another customer's", "another customer's refund", "no one's", "unpaid"])
def test_another_customers_receipt_or_none_gets_the_same_not_found_page(
    kleline: Kleline, browser: Visitor, world: dict[str, object], whose: str
) -> None:
    unpaid = payment(kleline, str(world["merchant"]), 700)
    object_id = {
        "another customer's": world["grace"].id,  # type: ignore[attr-defined]
        "another customer's refund": world["grace_refund"].id,  # type: ignore[attr-defined]
        "no one's": "pay_nope",
        "unpaid": unpaid.id,
    }[whose]
    browser.sign_in_to("/wallet")
    for path in (f"/wallet/receipts/{object_id}", f"/wallet/receipts/{object_id}/download"):
        page = browser.get(path)
        assert page.status_code == 404
        assert "<h1>No receipt here</h1>" in page.text
        assert "43.21" not in page.text and "10.00" not in page.text and "Grace" not in page.text
    graces = world["grace"]
    assert isinstance(graces, Payment) and graces.customer_id is not None
    assert kleline.payments.purchase(world["ada"].id, graces.id) is None  # type: ignore[attr-defined]
    assert kleline.payments.purchase(graces.customer_id, graces.id) is not None  # read for its own customer only


# --- checking a receipt file --------------------------------------------------------------------------------------


@pytest.fixture
def signed_file(kleline: Kleline, world: dict[str, object]) -> bytes:
    return kleline.receipts.get(world["purse"].id).dumps().encode()  # type: ignore[attr-defined]


def check(browser: Visitor, content: bytes, name: str = "receipt.json") -> tuple[int, str]:
    browser.get("/receipts/verify")
    response = browser.client.post(
        "/receipts/verify", data={"csrf_token": browser.csrf}, files={"receipt": (name, content, "application/json")}
    )
    found = re.search(r'<section class="verdict verdict-([a-z_]+)"', response.text)
    return response.status_code, found.group(1) if found else ""


def test_anyone_can_check_a_genuine_receipt(browser: Visitor, signed_file: bytes) -> None:
    form = browser.get("/receipts/verify")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text
    status, outcome = check(browser, signed_file)
    assert (status, outcome) == (200, "valid")
    response = browser.client.post(
        "/receipts/verify", data={"csrf_token": browser.csrf}, files={"receipt": ("r.json", signed_file)}
    )
    assert "Valid receipt" in response.text and "Librairie Kléber" in response.text and "€12.50" in response.text


def test_a_changed_amount_is_an_altered_receipt(browser: Visitor, signed_file: bytes) -> None:
    document = json.loads(signed_file)
    document["amount"]["amount"] = 125
    assert check(browser, json.dumps(document).encode()) == (200, "altered")


def test_a_receipt_signed_with_a_key_kleline_does_not_publish_is_said_so(browser: Visitor, signed_file: bytes) -> None:
    document = json.loads(signed_file)
    document["signature"]["key_id"] = "k9"
    browser.get("/receipts/verify")
    response = browser.client.post(
        "/receipts/verify",
        data={"csrf_token": browser.csrf},
        files={"receipt": ("r.json", json.dumps(document).encode())},
    )
    assert 'verdict-unknown_key"' in response.text and "“k9”" in response.text


@pytest.mark.parametrize(
    "content", [b"not json", b"[]", b'{"receipt_id": "rcpt_1"}', "é".encode("latin-1"), b'{"a": 1, "a": 2}']
)
def test_a_file_that_is_no_receipt_is_said_so(browser: Visitor, content: bytes) -> None:
    assert check(browser, content) == (200, "malformed")


def test_a_missing_amount_names_the_part_in_question(browser: Visitor, signed_file: bytes) -> None:
    document = json.loads(signed_file)
    document["amount"] = {"amount": 12.5, "currency": "EUR"}
    browser.get("/receipts/verify")
    response = browser.client.post(
        "/receipts/verify", data={"csrf_token": browser.csrf}, files={"receipt": ("r.json", json.dumps(document))}
    )
    assert 'verdict-malformed"' in response.text and "“amount.amount”" in response.text
    assert "in the wrong form. The first problem is in “amount.amount”." in response.text  # two sentences, spaced


def test_no_file_is_an_error_next_to_the_field(browser: Visitor) -> None:
    browser.get("/receipts/verify")
    response = browser.client.post("/receipts/verify", data={"csrf_token": browser.csrf}, files={"receipt": ("", b"")})
    assert response.status_code == 400
    assert 'href="#receipt"' in alert(response) and "Choose a receipt file to check" in alert(response)


@pytest.mark.parametrize("size", [9 * 1024, 20 * 1024, 200 * 1024])
def test_a_file_too_large_for_a_receipt_is_refused_with_a_clear_page(browser: Visitor, size: int) -> None:
    status, _ = check(browser, b"{" + b" " * size + b"}")
    browser.get("/receipts/verify")
    response = browser.client.post(
        "/receipts/verify", data={"csrf_token": browser.csrf}, files={"receipt": ("big.json", b" " * size)}
    )
    assert status == response.status_code == 413
    assert "larger than 8 KB" in alert(response) and "payload_too_large" in alert(response)
    assert response.headers["content-type"].startswith("text/html")


def test_a_post_without_the_forms_token_is_refused(browser: Visitor, signed_file: bytes) -> None:
    browser.get("/receipts/verify")
    response = browser.client.post(
        "/receipts/verify", data={"csrf_token": "forged"}, files={"receipt": ("r.json", signed_file)}
    )
    assert response.status_code == 403
    assert "Valid receipt" not in response.text


def test_the_verify_page_speaks_french(browser: Visitor, signed_file: bytes) -> None:
    page = browser.get("/receipts/verify?lang=fr")
    assert "Vérifier un reçu" in page.text
    response = browser.client.post(
        "/receipts/verify", data={"csrf_token": browser.csrf}, files={"receipt": ("r.json", signed_file)}
    )
    assert "Reçu valide" in response.text and "12,50\xa0€" in response.text


def test_a_smaller_door_bound_still_answers_with_the_page(database_url: str, clock: FakeClock) -> None:
    kleline = build(load_settings(database_url=database_url, max_form_bytes=4 * 1024), clock=clock)
    try:
        with TestClient(create_app(kleline), follow_redirects=False) as client:
            visitor = Visitor(client)
            visitor.get("/receipts/verify")
            response = client.post(
                "/receipts/verify", data={"csrf_token": visitor.csrf}, files={"receipt": ("r.json", b" " * 6000)}
            )
            assert response.status_code == 413 and response.headers["content-type"].startswith("text/html")
            assert "payload_too_large" in alert(response)
    finally:
        kleline.close()
