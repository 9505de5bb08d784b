"""The wallet's pages over HTTP: only their owner sees them, once signed in."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from kleline.api.app import create_app
from kleline.bootstrap import Kleline
from kleline.db.engine import RawTx
from kleline.payments.model import Payment
from kleline.wallet.model import Customer

from ..conftest import FakeClock
from ..operator_keys import OPERATOR
from .checkout_world import (
    ISSUER_INSUFFICIENT_FUNDS,
    MASTERCARD,
    VISA,
    card,
    customer,
    enrol,
    eur,
    fund,
    payment,
    shop,
)
from .page_visitor import Visitor, alert
from .wallet_world import OTHER_IBAN, bank_account, in_debt


@pytest.fixture
def browser(kleline: Kleline) -> Iterator[Visitor]:
    with TestClient(create_app(kleline), follow_redirects=False) as client:
        yield Visitor(client)


def test_a_signed_out_visitor_is_sent_to_sign_in_and_brought_back(kleline: Kleline, browser: Visitor) -> None:
    customer(kleline)
    response = browser.get("/wallet")
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2Fwallet"

    page = browser.sign_in_to("/wallet")
    assert page.status_code == 200
    assert "Signed in as Ada Lovelace" in page.text


def test_the_wallet_shows_the_purse_and_the_cards_of_its_owner_only(kleline: Kleline, browser: Visitor) -> None:
    ada = customer(kleline)
    fund(kleline, ada.id, card(kleline, ada.id), 2950)
    grace = customer(kleline, "grace@example.org", "Grace Hopper")
    card(kleline, grace.id, "5555555555554444")

    page = browser.sign_in_to("/wallet")
    assert "€29.50" in page.text
    assert "VISA •••• 4242" in page.text
    assert "4444" not in page.text  # Grace's card
    assert 'aria-current="page">Overview' in page.text


# --- the overview: the purse against its limits, cards, bank accounts and mandates, the debt -----------------------


def test_the_overview_shows_the_purse_against_its_limits_and_the_room_left(kleline: Kleline, browser: Visitor) -> None:
    ada = customer(kleline)
    fund(kleline, ada.id, card(kleline, ada.id), 2500)
    bank_account(kleline, ada.id)

    page = browser.sign_in_to("/wallet")
    assert page.status_code == 200
    assert figure(page, "balance") == figure(page, "available") == "€25.00"
    assert figure(page, "held") == "€0.00"
    assert figure(page, "max-balance") == figure(page, "monthly-limit") == "€150.00"
    assert "Topped up in January 2026" in page.text
    assert figure(page, "this-month") == "€25.00"
    assert figure(page, "room-this-month") == "€125.00"
    assert "You can top up at most €125.00 now." in page.text
    assert "Expires 12/2030" in page.text
    assert "FR76\u00a0••••\u00a00189" in page.text
    assert "Direct debit mandate signed on 15 January 2026" in page.text
    assert re.search(r"Mandate reference: KLM[0-9A-Z]+<", page.text)
    assert 'id="debt"' not in page.text  # nothing owed


def test_the_overview_in_french_formats_amounts_and_months_for_france(kleline: Kleline, browser: Visitor) -> None:
    ada = customer(kleline)
    fund(kleline, ada.id, card(kleline, ada.id), 2500)
    page = browser.sign_in_to("/wallet?lang=fr")
    assert figure(page, "balance") == "25,00\u00a0€"
    assert "Rechargé en janvier 2026" in page.text


# --- the overview's recent movements: the history's newest lines ------------------------------------------------


def _recent(page: httpx.Response) -> list[str]:
    """The overview's recent movements, as text, in order."""
    found = re.search(r'<section class="panel" aria-labelledby="recent-title">.*?</section>', page.text, re.S)
    assert found, page.text
    return [
        re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", item)).strip()
        for item in re.findall(r'<li class="activity-line".*?</li>', found.group(0), re.S)
    ]


def _lines(page: httpx.Response) -> list[str]:
    """Every activity line of a page, as text, in order."""
    found = re.findall(r'<li class="activity-line".*?</li>', page.text, re.S)
    return [re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", item)).strip() for item in found]


def _paid(kleline: Kleline, who: Customer, merchant_id: str, minor: int, card_id: str | None = None) -> Payment:
    created = payment(kleline, merchant_id, minor)
    done = kleline.payments.confirm(created.id, who.id, "card" if card_id else "purse", card_id=card_id)
    assert done.status == "succeeded", done
    return done


def _six_movements(kleline: Kleline, clock: FakeClock) -> dict[str, str]:
    """Ada tops up 30 EUR, pays at two shops from her purse and by card, and is refunded part of one payment."""
    kleber, bakery = shop(kleline), shop(kleline, "Boulangerie du Marché", "Galerie du Marché")
    ada = customer(kleline)
    visa = card(kleline, ada.id)
    fund(kleline, ada.id, visa, 3000)
    ids: dict[str, str] = {}
    for name, merchant, minor, by_card in (
        ("books", kleber, 1250, None),
        ("bread", bakery, 900, visa),
        ("cake", bakery, 400, None),
        ("map", kleber, 300, visa),
    ):
        clock.advance(minutes=1)
        ids[name] = _paid(kleline, ada, merchant, minor, by_card).id
    clock.advance(minutes=1)
    ids["refund"] = kleline.refunds.refund(kleber, ids["books"], eur(500)).id
    ids["ada"] = ada.id
    grace = customer(kleline, "grace@example.org", "Grace Hopper")
    fund(kleline, grace.id, card(kleline, grace.id, MASTERCARD), 2345)
    return ids


def test_the_overview_shows_the_five_newest_movements_as_the_history_does_each_with_its_receipt(
    kleline: Kleline, browser: Visitor, clock: FakeClock
) -> None:
    ids = _six_movements(kleline, clock)
    page = browser.sign_in_to("/wallet")
    recent = _recent(page)
    assert len(recent) == 5
    assert recent == _lines(browser.get("/wallet/activity"))[:5]  # the history's first lines, word for word
    assert recent[0].startswith("Librairie Kléber") and "Refund to your purse" in recent[0] and "€5.00" in recent[0]
    assert "Refund of your payment of 15 Jan 2026" in recent[0]
    assert "-€3.00" in recent[1] and "Paid by card" in recent[1]
    assert recent[2].startswith("Boulangerie du Marché") and "-€4.00" in recent[2] and "Purse: €13.50" in recent[2]
    assert "Les Misérables, 2 vol." in recent[4] and "Refunded so far: €5.00" in recent[4]
    assert not any("Top-up" in line for line in recent)  # the sixth, oldest movement is left to the history
    for receipt in (ids["refund"], ids["map"], ids["cake"], ids["bread"], ids["books"]):
        assert f'href="/wallet/receipts/{receipt}"' in page.text
    assert '<a href="/wallet/activity">See all activity</a>' in page.text
    assert "23.45" not in page.text  # Grace's top-up


def test_the_overviews_movements_in_french(kleline: Kleline, browser: Visitor, clock: FakeClock) -> None:
    _six_movements(kleline, clock)
    page = browser.sign_in_to("/wallet?lang=fr")
    assert "Activité récente" in page.text and "Voir toute l’activité" in page.text
    recent = _recent(page)
    assert "Remboursement sur votre porte-monnaie" in recent[0] and "5,00\u00a0€" in recent[0]


def test_an_overview_without_movements_says_where_they_will_appear(kleline: Kleline, browser: Visitor) -> None:
    ada = customer(kleline)
    card(kleline, ada.id)
    page = browser.sign_in_to("/wallet")
    assert _recent(page) == []
    assert "Nothing yet: your top-ups and payments will appear here." in page.text
    assert "See all activity" not in page.text
    assert "Rien pour l’instant" in browser.get("/wallet?lang=fr").text


def _statements(monkeypatch: pytest.MonkeyPatch, run: Callable[[], object]) -> list[str]:
    """The statements ``run`` sends to the database."""
    sent: list[str] = []
    execute = RawTx.execute

    def counted(tx: RawTx, sql: str, params: Any = ()) -> Any:
        sent.append(sql)
        return execute(tx, sql, params)

    with monkeypatch.context() as patch:
        patch.setattr(RawTx, "execute", counted)
        run()
    return sent


def test_the_overviews_movements_cost_one_statement_however_many_shops_they_name(
    kleline: Kleline, browser: Visitor, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ada = _six_movements(kleline, clock)["ada"]
    browser.sign_in_to("/wallet")  # the first visit reads what stays known (the purse's account)
    assert len(_statements(monkeypatch, lambda: kleline.payments.activity(ada, limit=5))) == 1
    busy = _statements(monkeypatch, lambda: browser.get("/wallet"))
    customer(kleline, "bob@example.org", "Bob")
    with TestClient(create_app(kleline), follow_redirects=False) as client:
        bobs = Visitor(client)
        bobs.sign_in_to("/wallet", email="bob@example.org")
        empty = _statements(monkeypatch, lambda: bobs.get("/wallet"))
    assert len(busy) == len(empty), (busy, empty)  # nothing per line, per payment or per shop


# --- removing a card or a bank account: a page asks first, its form removes ----------------------------------------


def test_the_overviews_remove_buttons_lead_to_the_pages_that_ask_first(kleline: Kleline, browser: Visitor) -> None:
    ada = customer(kleline)
    own = card(kleline, ada.id)
    account = bank_account(kleline, ada.id)
    page = browser.sign_in_to("/wallet")
    assert f'href="/wallet/cards/{own}/remove"' in page.text
    assert f'href="/wallet/bank-accounts/{account.id}/remove"' in page.text
    assert 'action="/wallet/cards/' not in page.text and 'action="/wallet/bank-accounts/' not in page.text


def test_removing_a_card_asks_first_then_removes_it(kleline: Kleline, browser: Visitor) -> None:
    ada = customer(kleline)
    own = card(kleline, ada.id)
    browser.sign_in_to("/wallet")

    asking = browser.get(f"/wallet/cards/{own}/remove")
    assert asking.status_code == 200
    assert "<title>Remove this card? · Kleline</title>" in asking.text
    assert figure(asking, "removed-card") == "Visa card ending 4242"
    assert figure(asking, "removed-card-expiry") == "12/2030"
    assert "can no longer pay for a purchase or top up your purse" in asking.text
    assert f'<form method="post" action="/wallet/cards/{own}/remove"' in asking.text
    assert 'name="csrf_token"' in asking.text and '<a href="/wallet">Keep it</a>' in asking.text
    assert [c.id for c in kleline.cards.list(ada.id)] == [own]  # asking removes nothing

    removed = browser.post(f"/wallet/cards/{own}/remove")
    assert (removed.status_code, removed.headers["location"]) == (303, "/wallet")
    page = browser.get("/wallet")
    assert "The card was removed from your wallet." in page.text
    assert "No card yet." in page.text and kleline.cards.list(ada.id) == []
    assert browser.get(f"/wallet/cards/{own}/remove").status_code == 404  # gone: nothing left to ask about


def test_another_customers_card_or_an_unknown_one_is_not_found_asked_or_removed(
    kleline: Kleline, browser: Visitor
) -> None:
    customer(kleline)
    grace = customer(kleline, "grace@example.org", "Grace Hopper")
    graces = card(kleline, grace.id, MASTERCARD)
    browser.sign_in_to("/wallet")
    for card_id in (graces, "card_unknown"):
        asked = browser.get(f"/wallet/cards/{card_id}/remove")
        assert asked.status_code == 404
        assert "There is no such card, bank account or top-up in your wallet." in asked.text
        assert "4444" not in asked.text and "Mastercard" not in asked.text
        refused = browser.post(f"/wallet/cards/{card_id}/remove")
        assert refused.status_code == 404
        assert "There is no such card, bank account or top-up in your wallet." in refused.text
    assert [c.id for c in kleline.cards.list(grace.id)] == [graces]


def test_removing_a_bank_account_asks_first_and_says_its_mandate_is_revoked(kleline: Kleline, browser: Visitor) -> None:
    ada = customer(kleline)
    own = bank_account(kleline, ada.id)
    browser.sign_in_to("/wallet")

    asking = browser.get(f"/wallet/bank-accounts/{own.id}/remove")
    assert asking.status_code == 200
    assert "<title>Remove this bank account? · Kleline</title>" in asking.text
    assert figure(asking, "removed-account") == "FR76\u00a0••••\u00a00189"
    assert figure(asking, "removed-mandate") == own.mandate_id
    assert "15 January 2026" in asking.text
    assert "revokes its direct debit mandate" in asking.text
    assert "future top-ups by direct debit from it stop" in asking.text
    assert f'<form method="post" action="/wallet/bank-accounts/{own.id}/remove"' in asking.text
    assert '<a href="/wallet">Keep it</a>' in asking.text
    assert "3000 6000 0112 3456 7890" not in asking.text and own.iban not in asking.text  # masked
    assert len(kleline.collections.bank_accounts.list(ada.id)) == 1

    revoked = browser.post(f"/wallet/bank-accounts/{own.id}/remove")
    assert (revoked.status_code, revoked.headers["location"]) == (303, "/wallet")
    page = browser.get("/wallet")
    assert "The bank account was removed and its direct debit mandate revoked." in page.text
    assert kleline.collections.bank_accounts.list(ada.id) == []


def test_a_bank_account_with_direct_debits_waiting_is_kept_and_the_page_that_asked_says_why(
    kleline: Kleline, browser: Visitor
) -> None:
    ada = customer(kleline)
    own = bank_account(kleline, ada.id)
    kleline.collections.top_ups.top_up(ada.id, eur(1000), own.id)  # a collection waits for the next run
    browser.sign_in_to("/wallet")
    browser.get(f"/wallet/bank-accounts/{own.id}/remove")

    pending = browser.post(f"/wallet/bank-accounts/{own.id}/remove")
    assert pending.status_code == 409
    summary = alert(pending)
    assert "collections_pending" in summary and "once they are sent" in summary
    assert 'tabindex="-1" autofocus>' in summary  # the refusal takes the focus, not the question
    assert "<title>Error: Remove this bank account? · Kleline</title>" in pending.text
    assert figure(pending, "removed-mandate") == own.mandate_id
    assert '<a href="/wallet">Keep it</a>' in pending.text
    assert len(kleline.collections.bank_accounts.list(ada.id)) == 1

    kleline.collections.runs.run(actor=OPERATOR)
    revoked = browser.post(f"/wallet/bank-accounts/{own.id}/remove")  # again from the same page, once sent
    assert (revoked.status_code, revoked.headers["location"]) == (303, "/wallet")
    assert kleline.collections.bank_accounts.list(ada.id) == []


def test_another_customers_bank_account_is_not_found_asked_or_removed(kleline: Kleline, browser: Visitor) -> None:
    customer(kleline)
    grace = customer(kleline, "grace@example.org", "Grace Hopper")
    graces = bank_account(kleline, grace.id, OTHER_IBAN)
    browser.sign_in_to("/wallet")
    for account_id in (graces.id, "ba_unknown"):
        asked = browser.get(f"/wallet/bank-accounts/{account_id}/remove")
        assert asked.status_code == 404
        assert "There is no such card, bank account or top-up in your wallet." in asked.text
        assert "3000" not in asked.text and graces.mandate_id not in asked.text
        refused = browser.post(f"/wallet/bank-accounts/{account_id}/remove")
        assert refused.status_code == 404 and "3000" not in refused.text
    assert [a.id for a in kleline.collections.bank_accounts.list(grace.id)] == [graces.id]


def test_a_removal_without_its_token_changes_nothing(kleline: Kleline, browser: Visitor) -> None:
    ada = customer(kleline)
    own = card(kleline, ada.id)
    account = bank_account(kleline, ada.id)
    browser.sign_in_to("/wallet")
    for path in (f"/wallet/cards/{own}/remove", f"/wallet/bank-accounts/{account.id}/remove"):
        assert browser.get(path).status_code == 200
        forged = browser.post(path, csrf="forged")
        assert forged.status_code == 403, path
        assert "security token is missing or out of date" in forged.text
        assert f'href="{path}"' in forged.text  # back to the page that asks
    assert len(kleline.cards.list(ada.id)) == 1
    assert len(kleline.collections.bank_accounts.list(ada.id)) == 1


def test_the_pages_that_ask_before_a_removal_speak_french(kleline: Kleline, browser: Visitor) -> None:
    ada = customer(kleline)
    own = card(kleline, ada.id)
    account = bank_account(kleline, ada.id)
    browser.sign_in_to("/wallet?lang=fr")
    asking = html.unescape(browser.get(f"/wallet/cards/{own}/remove").text)
    assert '<h1 id="removal-title" tabindex="-1" autofocus>Retirer cette carte\u202f?</h1>' in asking
    assert "Carte Visa se terminant par 4242" in asking and ">Retirer</button>" in asking
    assert '<a href="/wallet">La garder</a>' in asking
    asking = html.unescape(browser.get(f"/wallet/bank-accounts/{account.id}/remove").text)
    assert "Retirer ce compte bancaire\u202f?" in asking and "Référence du mandat" in asking
    assert "Mandat signé le" in asking and "15 janvier 2026" in asking
    assert "révoque son mandat de prélèvement" in asking and '<a href="/wallet">Le garder</a>' in asking


def test_a_debt_is_repaid_from_the_purse_once_whatever_the_clicks(kleline: Kleline, browser: Visitor) -> None:
    ada = customer(kleline)
    in_debt(kleline, ada.id, spent=1500)
    page = browser.sign_in_to("/wallet")
    assert 'id="debt"' in page.text and "you owe Kleline €15.00" in page.text

    empty = browser.post("/wallet/debt/repay", form_key=form_key(page))
    assert empty.status_code == 409
    assert "purse_empty" in alert(empty) and 'href="/wallet/top-up"' in empty.text

    fund(kleline, ada.id, card(kleline, ada.id), 1000)
    page = browser.get("/wallet")
    key = form_key(page)
    first = browser.post("/wallet/debt/repay", form_key=key)
    again = browser.post("/wallet/debt/repay", form_key=key)
    assert first.status_code == again.status_code == 303
    assert kleline.collections.debts.owed(ada.id) == eur(500)
    assert kleline.top_ups.standing(ada).balance == eur(0)
    assert "you still owe €5.00" in browser.get("/wallet").text

    fund(kleline, ada.id, kleline.cards.list(ada.id)[0].id, 2000)
    browser.post("/wallet/debt/repay", form_key=form_key(browser.get("/wallet")))
    page = browser.get("/wallet")
    assert "Your debt is repaid: top-ups by direct debit work again." in page.text
    assert 'id="debt"' not in page.text
    assert figure(page, "balance") == "€15.00"


# --- adding a card, adding a bank account and signing its mandate -------------------------------------------------


def test_adding_a_card_reports_every_problem_at_once_and_keeps_no_secret(kleline: Kleline, browser: Visitor) -> None:
    customer(kleline)
    browser.sign_in_to("/wallet/cards/new")
    refused = browser.post(
        "/wallet/cards/new", number="4242 4242 4242 4241", exp_month="13", exp_year="2030", cvc="12", holder_name="Ada"
    )
    assert refused.status_code == 400
    summary = alert(refused)
    # In the form's order (the service finds the expiry's problem before the number's).
    assert re.findall(r'href="#(\w+)"', summary) == ["number", "exp_month", "cvc"]
    assert "4241" not in refused.text and 'value="2030"' in refused.text


@pytest.mark.parametrize(
    ("number", "field", "english", "french"),
    [
        (
            "4000 0000 0000 0002",
            "number",
            "The card's bank declined this card: the bank gave no reason",
            "La banque de la carte l’a refusée\u00a0: la banque n’a pas donné de raison",
        ),
        (
            "4000 0000 0000 0127",
            "cvc",
            "The card's bank declined this card: the security code does not match the card",
            "La banque de la carte l’a refusée\u00a0: le cryptogramme ne correspond pas à la carte",
        ),
    ],
)
def test_a_card_its_bank_declines_is_explained_to_the_shopper_in_both_languages(
    kleline: Kleline, browser: Visitor, number: str, field: str, english: str, french: str
) -> None:
    ada = customer(kleline)
    typed = {"number": number, "exp_month": "11", "exp_year": "2029", "cvc": "321", "holder_name": "Ada"}
    browser.sign_in_to("/wallet/cards/new")
    refused = browser.post("/wallet/cards/new", **typed)
    assert refused.status_code == 402
    summary = html.unescape(alert(refused))
    assert english in summary and "card_declined" in summary and f'href="#{field}"' in summary
    # The service's sentence is for a developer: "the issuer", "the cardholder should contact their bank".
    assert "issuer" not in summary and "cardholder" not in summary
    browser.get("/wallet/cards/new?lang=fr")
    refused = browser.post("/wallet/cards/new", **typed)
    assert french in html.unescape(alert(refused))
    assert kleline.cards.list(ada.id) == []


def test_a_card_added_in_the_wallet_is_listed_and_can_be_chosen_to_top_up(kleline: Kleline, browser: Visitor) -> None:
    ada = customer(kleline)
    browser.sign_in_to("/wallet/cards/new?next=/wallet/top-up")
    added = browser.post(
        "/wallet/cards/new",
        number=VISA,
        exp_month="11",
        exp_year="2029",
        cvc="321",
        holder_name="Ada",
        next="/wallet/top-up",
    )
    assert added.status_code == 303
    new = kleline.cards.list(ada.id)[0]
    assert added.headers["location"] == f"/wallet/top-up?source={new.id}"
    page = browser.get(added.headers["location"])
    assert "Your Visa card ending 4242 was added to your wallet." in page.text
    assert f'value="{new.id}" checked' in page.text
    assert "Expires 11/2029" in browser.get("/wallet").text


def test_adding_a_bank_account_reports_every_problem_at_once(kleline: Kleline, browser: Visitor) -> None:
    customer(kleline)
    page = browser.sign_in_to("/wallet/bank-accounts/new")
    assert 'value="Ada Lovelace"' in page.text  # the holder is the customer, unless they say otherwise
    refused = browser.post("/wallet/bank-accounts/new", iban="FR76 3000 6000 0112 3456 7890 188", holder_name="")
    assert refused.status_code == 400
    summary = alert(refused)
    for field, code in (("iban", "invalid_iban"), ("holder_name", "validation_error"), ("mandate", "mandate_required")):
        assert f'href="#{field}"' in summary and code in summary
    assert 'value="FR76 3000 6000 0112 3456 7890 188"' in refused.text


def test_a_bank_account_is_added_with_its_mandate_signed_once(kleline: Kleline, browser: Visitor) -> None:
    ada = customer(kleline)
    browser.sign_in_to("/wallet/bank-accounts/new")
    fields = {"iban": "FR76 3000 6000 0112 3456 7890 189", "holder_name": "Ada Lovelace", "mandate_accepted": "yes"}
    added = browser.post("/wallet/bank-accounts/new", **fields)
    assert (added.status_code, added.headers["location"]) == (303, "/wallet")
    account = kleline.collections.bank_accounts.list(ada.id)[0]
    page = browser.get("/wallet")
    assert f"its direct debit mandate {account.mandate_id} is signed" in page.text
    browser.get("/wallet/bank-accounts/new")
    twice = browser.post("/wallet/bank-accounts/new", **fields)
    assert twice.status_code == 409 and "bank_account_exists" in alert(twice)
    assert len(kleline.collections.bank_accounts.list(ada.id)) == 1


# --- topping up ----------------------------------------------------------------------------------------------------


def test_a_top_up_by_card_is_made_once_whatever_the_clicks(kleline: Kleline, browser: Visitor) -> None:
    ada = customer(kleline)
    card_id = card(kleline, ada.id)
    page = browser.sign_in_to("/wallet/top-up")
    assert f'value="{card_id}" checked' in page.text  # the only source is chosen
    key = form_key(page)
    first = browser.post("/wallet/top-up", amount="25,50", source=card_id, form_key=key)
    again = browser.post("/wallet/top-up", amount="25,50", source=card_id, form_key=key)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"] == "/wallet"
    assert kleline.top_ups.standing(ada).balance == eur(2550)
    assert "€25.50 was added to your purse from your card." in browser.get("/wallet").text


def test_a_top_up_form_reports_every_problem_at_once(kleline: Kleline, browser: Visitor) -> None:
    ada = customer(kleline)
    card(kleline, ada.id)
    grace = customer(kleline, "grace@example.org", "Grace Hopper")
    graces = card(kleline, grace.id, MASTERCARD)
    page = browser.sign_in_to("/wallet/top-up")
    for typed, message in (("", "Enter how much to add"), ("12.345", "such as 50 or 12.50"), ("0", "above zero")):
        refused = browser.post("/wallet/top-up", amount=typed, source=graces, form_key=form_key(page))
        assert refused.status_code == 400
        summary = alert(refused)
        assert message in summary and 'href="#amount"' in summary and 'href="#source"' in summary
    assert kleline.top_ups.standing(grace).balance == eur(0) and kleline.top_ups.standing(ada).balance == eur(0)


def test_a_top_up_past_the_limits_says_how_much_can_be_added(kleline: Kleline, browser: Visitor) -> None:
    ada = customer(kleline)
    card_id = card(kleline, ada.id)
    fund(kleline, ada.id, card_id, 2500)
    page = browser.sign_in_to("/wallet/top-up")
    refused = browser.post("/wallet/top-up", amount="125.01", source=card_id, form_key=form_key(page))
    assert refused.status_code == 422
    summary = alert(refused)
    assert "limit_exceeded" in summary and "you can top up at most €125.00 now" in summary
    assert 'value="125.01"' in refused.text
    french = browser.get("/wallet/top-up?lang=fr")
    refused = browser.post("/wallet/top-up", amount="200", source=card_id, form_key=form_key(french))
    assert "vous pouvez recharger au plus 125,00\u00a0€ maintenant" in alert(refused)


def test_a_declined_card_says_why_and_offers_another_way(kleline: Kleline, browser: Visitor) -> None:
    ada = customer(kleline)
    card_id = card(kleline, ada.id, ISSUER_INSUFFICIENT_FUNDS)
    page = browser.sign_in_to("/wallet/top-up")
    declined = browser.post("/wallet/top-up", amount="10", source=card_id, form_key=form_key(page))
    assert declined.status_code == 402
    summary = html.unescape(alert(declined))
    assert "declined this top-up: your card's account does not hold enough" in summary
    assert "insufficient_funds" in summary
    assert 'href="/wallet/cards/new?next=/wallet/top-up"' in declined.text
    assert 'href="/wallet/bank-accounts/new?next=/wallet/top-up"' in declined.text
    assert kleline.top_ups.standing(ada).balance == eur(0)


def test_a_top_up_needing_a_code_without_an_authenticator_app_leads_to_the_security_page(
    kleline: Kleline, browser: Visitor
) -> None:
    ada = customer(kleline)
    card_id = card(kleline, ada.id)
    page = browser.sign_in_to("/wallet/top-up")
    refused = browser.post("/wallet/top-up", amount="50", source=card_id, form_key=form_key(page))
    assert refused.status_code == 403
    assert "sca_enrolment_required" in alert(refused)
    assert 'href="/wallet/security"' in refused.text


def test_a_top_up_above_the_exemption_is_confirmed_with_the_code(
    kleline: Kleline, browser: Visitor, clock: FakeClock
) -> None:
    ada = customer(kleline)
    totp = enrol(kleline, ada)
    card_id = card(kleline, ada.id)
    page = browser.sign_in_to("/wallet/top-up")
    challenged = browser.post("/wallet/top-up", amount="50", source=card_id, form_key=form_key(page))
    assert challenged.status_code == 303
    step = challenged.headers["location"]
    assert re.fullmatch(r"/wallet/top-up/top_\w+\?challenge=sca_\w+", step)
    page = browser.get(step)
    assert "Confirm and add €50.00" in page.text and "Visa card ending 4242" in page.text
    assert kleline.top_ups.standing(ada).balance == eur(0)

    wrong = browser.post(step.split("?")[0] + "/authenticate", sca_code="12345", **hidden(page))
    assert wrong.status_code == 400 and 'href="#sca_code"' in alert(wrong)
    bad = str((int(totp.at(clock.now)) + 1) % 1_000_000).zfill(6)
    refused = browser.post(step.split("?")[0] + "/authenticate", sca_code=bad, **hidden(page))
    assert refused.status_code == 403 and "sca_code_invalid" in alert(refused)

    fields = hidden(browser.get(step))
    done = browser.post(step.split("?")[0] + "/authenticate", sca_code=totp.at(clock.now), **fields)
    again = browser.post(step.split("?")[0] + "/authenticate", sca_code=totp.at(clock.now), **fields)
    assert done.status_code == again.status_code == 303 and done.headers["location"] == "/wallet"
    assert kleline.top_ups.standing(ada).balance == eur(5000)
    assert "€50.00 was added to your purse from your card." in browser.get("/wallet").text


def test_a_code_sent_too_late_gets_a_fresh_challenge_that_the_next_code_passes(
    kleline: Kleline, browser: Visitor, clock: FakeClock
) -> None:
    ada = customer(kleline)
    totp = enrol(kleline, ada)
    card_id = card(kleline, ada.id)
    page = browser.sign_in_to("/wallet/top-up")
    step = browser.post("/wallet/top-up", amount="40", source=card_id, form_key=form_key(page)).headers["location"]
    page = browser.get(step)
    clock.advance(minutes=6)  # the challenge lived 5 minutes
    late = browser.post(step.split("?")[0] + "/authenticate", sca_code=totp.at(clock.now), **hidden(page))
    assert late.status_code == 410 and "sca_challenge_expired" in alert(late)
    assert "Confirm and add €40.00" in late.text
    fresh = re.search(r'action="(/wallet/top-up/top_\w+/authenticate)"', late.text)
    assert fresh and fresh.group(1) != step.split("?")[0] + "/authenticate"
    clock.advance(seconds=30)
    done = browser.post(fresh.group(1), sca_code=totp.at(clock.now), **hidden(late))
    assert (done.status_code, done.headers["location"]) == (303, "/wallet")
    assert kleline.top_ups.standing(ada).balance == eur(4000)


def test_another_customers_top_up_is_not_found(kleline: Kleline, browser: Visitor) -> None:
    grace = customer(kleline, "grace@example.org", "Grace Hopper")
    enrol(kleline, grace)
    graces = kleline.top_ups.top_up(grace.id, eur(5000), card(kleline, grace.id, MASTERCARD))
    assert graces.status == "requires_action"
    customer(kleline)
    browser.sign_in_to("/wallet")
    page = browser.get(f"/wallet/top-up/{graces.id}?challenge={graces.challenge_id}")
    assert page.status_code == 404 and "€50.00" not in page.text
    posted = browser.post(
        f"/wallet/top-up/{graces.id}/authenticate", sca_code="123456", challenge_id="x", form_key="k1"
    )
    assert posted.status_code == 404


def test_a_top_up_by_direct_debit_credits_the_purse_at_once(kleline: Kleline, browser: Visitor) -> None:
    ada = customer(kleline)
    account = bank_account(kleline, ada.id)
    page = browser.sign_in_to("/wallet/top-up")
    assert "Direct debit from FR76" in page.text
    done = browser.post("/wallet/top-up", amount="20", source=account.id, form_key=form_key(page))
    assert (done.status_code, done.headers["location"]) == (303, "/wallet")
    page = browser.get("/wallet")
    assert "€20.00 was added to your purse. Your bank account will be debited in the next few days." in page.text
    assert figure(page, "balance") == "€20.00"


def test_a_direct_debit_while_in_debt_is_refused_with_the_way_to_repay(kleline: Kleline, browser: Visitor) -> None:
    ada = customer(kleline)
    account = in_debt(kleline, ada.id)
    page = browser.sign_in_to("/wallet/top-up")
    refused = browser.post("/wallet/top-up", amount="10", source=account.id, form_key=form_key(page))
    assert refused.status_code == 422
    assert "receivable_outstanding" in alert(refused) and 'href="/wallet#debt"' in refused.text


def test_every_wallet_page_sends_a_signed_out_visitor_to_sign_in(kleline: Kleline, browser: Visitor) -> None:
    paths = ("/wallet/top-up", "/wallet/cards/new", "/wallet/bank-accounts/new", "/wallet/top-up/top_x")
    for path in (*paths, "/wallet/cards/card_x/remove", "/wallet/bank-accounts/ba_x/remove"):
        response = browser.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/sign-in?next=")


def figure(page: httpx.Response, name: str) -> str:
    """The text of the page's element ``id=name`` (a figure)."""
    found = re.search(rf'id="{name}"[^>]*>([^<]*)<', page.text)
    assert found, name
    return html.unescape(found.group(1))


def form_key(page: httpx.Response) -> str:
    found = re.search(r'name="form_key" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def hidden(page: httpx.Response) -> dict[str, str]:
    """The challenge step's hidden fields (its key and challenge)."""
    found = re.search(r'name="challenge_id" value="([^"]+)"', page.text)
    assert found, page.text
    return {"form_key": form_key(page), "challenge_id": found.group(1)}


def test_a_top_up_from_a_checkouts_refusal_goes_back_to_the_checkout_through_the_code_step(
    kleline: Kleline, browser: Visitor, clock: FakeClock
) -> None:
    ada = customer(kleline)
    totp = enrol(kleline, ada)
    card_id = card(kleline, ada.id)
    back = "/checkout/pay_0123456789abcdef0123456789abcdef"
    page = browser.sign_in_to(f"/wallet/top-up?next={back}")
    assert f'name="next" value="{back}"' in page.text and f'href="{back}"' in page.text  # and a way back unpaid
    challenged = browser.post("/wallet/top-up", amount="50", source=card_id, form_key=form_key(page), next=back)
    step = challenged.headers["location"]
    assert re.fullmatch(r"/wallet/top-up/top_\w+\?challenge=sca_\w+&next=%2Fcheckout%2Fpay_\w+", step)
    page = browser.get(step)
    assert f'name="next" value="{back}"' in page.text
    code = totp.at(clock.now)
    done = browser.post(step.split("?")[0] + "/authenticate", sca_code=code, next=back, **hidden(page))
    assert (done.status_code, done.headers["location"]) == (303, back)
    assert kleline.top_ups.standing(ada).balance == eur(5000)


def test_a_next_address_of_another_site_is_ignored_and_the_top_up_ends_in_the_wallet(
    kleline: Kleline, browser: Visitor
) -> None:
    ada = customer(kleline)
    card_id = card(kleline, ada.id)
    page = browser.sign_in_to("/wallet/top-up?next=//evil.example/steal")
    assert "evil.example" not in page.text
    done = browser.post("/wallet/top-up", amount="10", source=card_id, form_key=form_key(page), next="//evil.example")
    assert (done.status_code, done.headers["location"]) == (303, "/wallet")
