"""The pages in French and English over HTTP: chosen from the browser's languages, a ``lang`` query or the footer's
switch, with amounts, refusals and ``<html lang>`` to match."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from kleline.api.app import create_app
from kleline.bootstrap import Kleline

from .checkout_world import PASSWORD, card, customer, fund, payment, shop

FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7"}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def browser(kleline: Kleline) -> Iterator[TestClient]:
    with TestClient(create_app(kleline), follow_redirects=False) as client:
        yield client


@pytest.fixture
def merchant_id(kleline: Kleline) -> str:
    return shop(kleline)


def _amount(html: str) -> str:
    found = re.search(r'<dd id="amount" class="amount">([^<]*)</dd>', html)
    assert found, html
    return found.group(1)


def test_a_browser_that_prefers_french_gets_the_checkout_in_french(
    kleline: Kleline, browser: TestClient, merchant_id: str
) -> None:
    paying = payment(kleline, merchant_id, 1250)
    page = browser.get(f"/checkout/{paying.id}", headers=FRENCH)
    assert page.headers["content-language"] == "fr" and "Accept-Language" in page.headers["vary"]
    html = page.text
    assert '<html lang="fr">' in html
    assert _amount(html) == "12,50\u00a0€"
    assert "<title>Payer Librairie Kléber · Kleline</title>" in html
    assert "<dt>Montant</dt>" in html and "<dt>Galerie marchande</dt>" in html
    assert "Connectez-vous pour payer" in html and "En attente de votre confirmation" in html
    assert "Sign in" not in html and "Amount" not in html
    assert 'hreflang="en"' in html and "English</a>" in html  # the switch offers the other language


def test_without_accept_language_the_checkout_is_in_english(
    kleline: Kleline, browser: TestClient, merchant_id: str
) -> None:
    paying = payment(kleline, merchant_id, 1250)
    html = browser.get(f"/checkout/{paying.id}").text
    assert '<html lang="en">' in html and _amount(html) == "€12.50"
    assert "<title>Pay Librairie Kléber · Kleline</title>" in html and "Sign in to pay" in html
    assert 'hreflang="fr"' in html and "Français</a>" in html


def test_a_lang_query_overrides_the_browsers_languages(kleline: Kleline, browser: TestClient, merchant_id: str) -> None:
    paying = payment(kleline, merchant_id, 1250)
    assert '<html lang="en">' in browser.get(f"/checkout/{paying.id}?lang=en", headers=FRENCH).text
    assert '<html lang="fr">' in browser.get(f"/checkout/{paying.id}?lang=fr").text


def test_the_footer_switch_remembers_the_language_and_returns_to_the_page(
    kleline: Kleline, browser: TestClient, merchant_id: str
) -> None:
    paying = payment(kleline, merchant_id, 1250)
    page = browser.get(f"/checkout/{paying.id}")
    link = re.search(r'<a href="([^"]+)" hreflang="fr"', page.text)
    assert link, page.text
    switched = browser.get(link.group(1).replace("&amp;", "&"))
    assert switched.status_code == 303 and switched.headers["location"] == f"/checkout/{paying.id}"
    cookie = switched.headers["set-cookie"]
    assert cookie.startswith("kleline_lang=fr;") and "SameSite=lax" in cookie and "Path=/" in cookie
    after = browser.get(f"/checkout/{paying.id}", headers={"Accept-Language": "en-GB"})
    assert '<html lang="fr">' in after.text and _amount(after.text) == "12,50\u00a0€"
    back = browser.get("/language?lang=en&next=/checkout/" + paying.id)
    assert back.headers["set-cookie"].startswith("kleline_lang=en;")
    assert '<html lang="en">' in browser.get(f"/checkout/{paying.id}", headers=FRENCH).text


def test_the_switch_is_safe_from_forged_links(browser: TestClient) -> None:
    elsewhere = browser.get("/language?lang=fr&next=https://evil.example/")
    assert elsewhere.status_code == 303 and elsewhere.headers["location"] == "/sign-in"
    assert browser.get("/language?lang=fr&next=//evil.example/").headers["location"] == "/sign-in"
    # It opens no session and takes no form: all a forged link can do is pick the language.
    assert [c for c in elsewhere.headers.get_list("set-cookie") if not c.startswith("kleline_lang=")] == []
    unknown = browser.get("/language?lang=xx&next=/sign-in")
    assert unknown.status_code == 303 and "set-cookie" not in unknown.headers
    assert browser.post("/language?lang=fr&next=/sign-in").status_code == 405


def test_the_switch_link_of_a_page_reached_by_a_crafted_next_keeps_the_other_site_out(browser: TestClient) -> None:
    html = browser.get("/sign-in?next=https://evil.example/").text
    assert "evil.example" not in html and "next%3D%252Fsign-in" in html


def test_a_refused_sign_in_is_explained_in_french_with_its_code(
    kleline: Kleline, browser: TestClient, merchant_id: str
) -> None:
    paying = payment(kleline, merchant_id, 1250)
    ada = customer(kleline)
    form = browser.get(f"/sign-in?next=/checkout/{paying.id}", headers=FRENCH)
    token = _CSRF.search(form.text)
    assert token
    fields = {"csrf_token": token.group(1), "email": ada.email, "password": "not the password"}
    refused = browser.post("/sign-in", data={**fields, "next": f"/checkout/{paying.id}"}, headers=FRENCH)
    assert refused.status_code == 400
    assert "<title>Erreur\u00a0: Connectez-vous à votre portefeuille · Kleline</title>" in refused.text
    assert "Adresse e-mail ou mot de passe incorrect, ou trop de tentatives échouées" in refused.text
    assert "invalid_credentials" in refused.text and "Il y a un problème" in refused.text
    empty = browser.post("/sign-in", data={"csrf_token": token.group(1), "email": ""}, headers=FRENCH)
    assert "Saisissez votre adresse e-mail" in empty.text and "Saisissez votre mot de passe" in empty.text


def test_a_forged_form_is_refused_in_french(browser: TestClient) -> None:
    browser.get("/sign-in", headers=FRENCH)
    refused = browser.post("/sign-in", data={"csrf_token": "forged", "email": "a@b.c"}, headers=FRENCH)
    assert refused.status_code == 403
    assert "Le jeton de sécurité du formulaire est absent ou périmé. Rien n’a été modifié." in refused.text


def test_a_signed_in_customer_chooses_how_to_pay_in_french(
    kleline: Kleline, browser: TestClient, merchant_id: str
) -> None:
    paying = payment(kleline, merchant_id, 4500)
    ada = customer(kleline)
    card_id = card(kleline, ada.id)
    fund(kleline, ada.id, card_id, 3000)
    form = browser.get(f"/checkout/{paying.id}", headers=FRENCH)
    token = _CSRF.search(form.text)
    assert token
    data = {"csrf_token": token.group(1), "email": ada.email, "password": PASSWORD, "next": f"/checkout/{paying.id}"}
    assert browser.post("/sign-in", data=data, headers=FRENCH).status_code == 303
    html = browser.get(f"/checkout/{paying.id}", headers=FRENCH).text
    assert "Votre porte-monnaie\u00a0: 30,00\u00a0€ disponibles (insuffisant pour ce paiement)" in html
    assert "Carte Visa se terminant par 4242 (expire fin 12/2030)" in html
    assert "Payer 45,00\u00a0€</button>" in html and "Connecté en tant que Ada Lovelace" in html


@pytest.mark.parametrize("first_page", ["/checkout/{id}?lang=fr", "/sign-in?lang=fr&next=/checkout/{id}"])
def test_a_language_chosen_with_the_query_is_kept_by_the_next_forms_and_redirects(
    kleline: Kleline, browser: TestClient, merchant_id: str, first_page: str
) -> None:
    paying = payment(kleline, merchant_id, 1250)
    ada = customer(kleline)
    english = {"Accept-Language": "en-GB,en;q=0.9"}
    form = browser.get(first_page.format(id=paying.id), headers=english)
    assert '<html lang="fr">' in form.text
    token = _CSRF.search(form.text)
    assert token
    fields = {"csrf_token": token.group(1), "email": ada.email, "next": f"/checkout/{paying.id}"}
    refused = browser.post("/sign-in", data={**fields, "password": "not the password"}, headers=english)
    assert '<html lang="fr">' in refused.text and "Adresse e-mail ou mot de passe incorrect" in refused.text
    signed_in = browser.post("/sign-in", data={**fields, "password": PASSWORD}, headers=english)
    assert signed_in.status_code == 303
    after = browser.get(signed_in.headers["location"], headers=english)
    assert '<html lang="fr">' in after.text and _amount(after.text) == "12,50\u00a0€"
    switched_back = browser.get(f"/checkout/{paying.id}?lang=en", headers=english)
    assert '<html lang="en">' in switched_back.text
    assert '<html lang="en">' in browser.get(f"/checkout/{paying.id}", headers=FRENCH).text


def test_an_unknown_lang_query_sets_no_cookie(kleline: Kleline, browser: TestClient, merchant_id: str) -> None:
    paying = payment(kleline, merchant_id, 1250)
    page = browser.get(f"/checkout/{paying.id}?lang=xx")
    assert '<html lang="en">' in page.text and "kleline_lang" not in page.headers.get("set-cookie", "")
