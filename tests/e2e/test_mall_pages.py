"""The home page, the malls and the merchants' public pages over HTTP: only open shops are shown, an unknown or
closed one is the pages' not-found page, and what Kleline vouches for (name, SIRET, approval date) is in the locale."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from kleline.api.app import create_app
from kleline.bootstrap import Kleline
from kleline.merchants.model import Mall

from ..conftest import FakeClock
from ..operator_keys import OPERATOR
from .checkout_world import IBAN, customer
from .page_visitor import Visitor

SIRET = "73282932000074"


@pytest.fixture
def browser(kleline: Kleline) -> Iterator[Visitor]:
    with TestClient(create_app(kleline), follow_redirects=False) as client:
        yield Visitor(client)


def merchant(kleline: Kleline, name: str, mall: Mall, *, status: str = "active", **fields: str) -> str:
    """A merchant in ``mall``, moved to ``status``; its id."""
    email = name.lower().replace(" ", ".").replace("é", "e") + "@shop.example"
    made, _ = kleline.merchants.register(name=name, email=email, iban=IBAN, mall_ids=[mall.id], **fields)
    if status != "pending":
        kleline.merchants.approve(made.id, actor=OPERATOR)
    if status == "suspended":
        kleline.merchants.suspend(made.id, actor=OPERATOR)
    return made.id


@pytest.fixture
def kleber(kleline: Kleline, clock: FakeClock) -> dict[str, str]:
    """Passage Kléber with an open bookshop, a pending and a suspended shop; the Halles, with an open cheese shop."""
    passage = kleline.malls.create("Passage Kléber", "passage-kleber", actor=OPERATOR)
    halles = kleline.malls.create("Les Halles", "les-halles", actor=OPERATOR)
    books = merchant(
        kleline,
        "Librairie Kléber SARL",
        passage,
        siret=SIRET,
        website="https://librairie.example/",
        description="New and second-hand books <i>& rare</i> editions",
    )
    clock.advance(days=3)
    cheese = merchant(kleline, "Fromagerie Duval", halles, description="Cheeses from small farms")
    kleline.malls.add_merchant(halles.id, books, actor=OPERATOR)
    pending = merchant(kleline, "Opening Soon", passage, status="pending", description="Not yet")
    suspended = merchant(kleline, "Shut Down", passage, status="suspended", website="https://shut.example")
    return {
        "passage": passage.id,
        "halles": halles.id,
        "books": books,
        "cheese": cheese,
        "pending": pending,
        "suspended": suspended,
    }


def test_the_directory_lists_every_mall_with_its_open_shops_only(browser: Visitor, kleber: dict[str, str]) -> None:
    page = browser.get("/malls")
    assert page.status_code == 200 and "set-cookie" not in page.headers  # no form: no session
    html = page.text
    assert f'<a href="/malls/{kleber["passage"]}">Passage Kléber</a>' in html
    assert f'<a href="/malls/{kleber["halles"]}">Les Halles</a>' in html
    assert html.index("Les Halles") < html.index("Passage Kléber")  # by slug
    assert "1 shop</p>" in html and "2 shops</p>" in html
    assert "Librairie Kléber SARL" in html
    assert "Opening Soon" not in html and "Shut Down" not in html


def test_a_mall_shows_each_open_shop_with_what_it_sells_and_links_to_it(
    browser: Visitor, kleber: dict[str, str]
) -> None:
    page = browser.get(f"/malls/{kleber['passage']}")
    assert page.status_code == 200
    html = page.text
    assert "<h1>Passage Kléber</h1>" in html
    assert "New and second-hand books &lt;i&gt;&amp; rare&lt;/i&gt; editions" in html  # text, never markup
    assert '<a href="https://librairie.example/" rel="external noopener">Go to the shop' in html
    assert f'<a href="/merchants/{kleber["books"]}">What Kleline knows of it' in html
    assert "1 shop, registered and approved by Kleline" in html
    for hidden in ("Opening Soon", "Not yet", "Shut Down", "shut.example", kleber["pending"], kleber["suspended"]):
        assert hidden not in html
    cheese = browser.get(f"/malls/{kleber['halles']}").text
    assert "Cheeses from small farms" in cheese and "Librairie Kléber SARL" in cheese
    assert "Go to the shop<span" in cheese  # the bookshop's; the cheese shop has no website: no link for it
    assert cheese.count("Go to the shop") == 1


def test_a_merchants_page_says_what_kleline_knows_of_it(browser: Visitor, kleber: dict[str, str]) -> None:
    page = browser.get(f"/merchants/{kleber['books']}")
    assert page.status_code == 200
    html = page.text
    assert '<dd id="registered-name">Librairie Kléber SARL</dd>' in html
    assert '<span class="nowrap">732 829 320 00074</span>' in html
    assert f"annuaire-entreprises.data.gouv.fr/etablissement/{SIRET}" in html
    assert '<dd id="since">15 January 2026</dd>' in html
    assert "Les Halles</a>, " in html and "Passage Kléber</a>" in html
    assert "IBAN" not in html and IBAN not in html and "@shop.example" not in html  # nothing private
    cheese = browser.get(f"/merchants/{kleber['cheese']}").text
    assert '<dd id="siret">Not given</dd>' in cheese and '<dd id="since">18 January 2026</dd>' in cheese
    assert "Go to the shop" not in cheese


def test_a_merchants_page_is_in_french_with_the_date_as_the_french_write_it(
    browser: Visitor, kleber: dict[str, str]
) -> None:
    html = browser.get(f"/merchants/{kleber['books']}?lang=fr").text
    assert '<html lang="fr">' in html
    assert '<dd id="since">15 janvier 2026</dd>' in html
    assert "Nom enregistré" in html and "Registered name" not in html


@pytest.mark.parametrize("which", ["pending", "suspended", "unknown"])
def test_a_shop_that_is_not_open_has_no_public_page(browser: Visitor, kleber: dict[str, str], which: str) -> None:
    merchant_id = kleber.get(which, "mer_00000000000000000000000000000000")
    page = browser.get(f"/merchants/{merchant_id}")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "<h1>No such page</h1>" in page.text and 'href="/malls"' in page.text
    assert "Opening Soon" not in page.text and "Shut Down" not in page.text


def test_an_unknown_mall_or_a_mangled_address_is_the_pages_not_found_page(browser: Visitor) -> None:
    for path in ("/malls/mall_nowhere", "/malls/%00", "/merchants/%01x"):
        page = browser.get(path)
        assert page.status_code == 404, path
        assert "<h1>No such page</h1>" in page.text, path


def test_the_header_links_to_the_malls_before_the_wallet(browser: Visitor, kleline: Kleline) -> None:
    html = browser.get("/malls").text
    assert html.index('<a href="/malls">Malls</a>') < html.index('<a href="/sign-in">Sign in</a>')
    customer(kleline)
    signed_in = browser.sign_in_to("/malls").text
    assert signed_in.index('<a href="/malls">Malls</a>') < signed_in.index('<a href="/wallet">Your wallet</a>')


def test_the_home_page_offers_a_wallet_and_the_malls(
    browser: Visitor, kleline: Kleline, kleber: dict[str, str]
) -> None:
    html = browser.get("/").text
    assert '<a class="button-link" href="/sign-up">Open a wallet</a>' in html
    assert '<a class="button-link secondary" href="/sign-in">Sign in</a>' in html
    assert f'<a href="/malls/{kleber["passage"]}">Passage Kléber</a>' in html and "1 shop</p>" in html
    assert 'href="/malls">All the malls and their shops</a>' in html
    assert "<code>POST /v1/payments</code>" in html  # the developers' section stays
    customer(kleline)
    signed_in = browser.sign_in_to("/").text
    assert '<a class="button-link" href="/wallet">Go to your wallet</a>' in signed_in
    assert "Open a wallet" not in signed_in


def test_the_home_page_with_no_mall_says_so(browser: Visitor) -> None:
    assert "There is no mall yet." in browser.get("/").text
