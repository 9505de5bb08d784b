"""Addresses a browser opens that no page answers: a mistyped one is a page in the visitor's language (the API's
clients still read problem JSON), and one that only takes a form's post, opened by a link (the language switch after
a refused form, a bookmark), leads to the page of that form instead of a ``405``."""

from __future__ import annotations

import html

from fastapi.testclient import TestClient

from kleline.api.app import create_app
from kleline.bootstrap import Kleline

from .http import problem as assert_problem

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def _browser(kleline: Kleline) -> TestClient:
    return TestClient(create_app(kleline), follow_redirects=False)


def test_a_mistyped_address_is_a_page_in_the_visitors_language_with_the_way_home(kleline: Kleline) -> None:
    browser = _browser(kleline)
    missing = browser.get("/wallet/activty", headers=BROWSER)
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    page = html.unescape(missing.text)
    assert "<h1>No such page</h1>" in page and '<a href="/">Go to Kleline\'s home page</a>' in page
    french = html.unescape(browser.get("/nope?lang=fr", headers=BROWSER).text)
    assert '<html lang="fr">' in french and "Rien ne se trouve à cette adresse" in french


def test_the_apis_clients_still_read_problem_json(kleline: Kleline) -> None:
    browser = _browser(kleline)
    assert_problem(browser.get("/wallet/activty"), 404, "not_found")  # no text/html asked for: curl, a script
    assert_problem(browser.get("/v1/nothing-here", headers=BROWSER), 404, "not_found")
    assert_problem(browser.get("/v1/payments/pay_x/confirm", headers=BROWSER), 405, "method_not_allowed")


def test_an_address_that_only_takes_a_post_leads_a_browser_to_the_page_of_its_form(kleline: Kleline) -> None:
    browser = _browser(kleline)
    for posted, page in (
        ("/checkout/pay_123/authenticate?lang=en", "/checkout/pay_123?lang=en"),
        ("/sign-in/passkey", "/sign-in"),
        ("/wallet/security/authenticator/confirm?lang=fr", "/wallet/security?lang=fr"),
    ):
        answer = browser.get(posted, headers=BROWSER)
        assert (answer.status_code, answer.headers["location"]) == (303, page), posted
    assert_problem(browser.get("/sign-in/passkey"), 405, "method_not_allowed")
    scheme_relative = browser.get("http://testserver//evil.example/sign-in/passkey", headers=BROWSER)
    assert "location" not in scheme_relative.headers  # never a redirect off the site
