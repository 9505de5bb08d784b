"""The dashboard's settings over HTTP, without JavaScript (both backends): a new bank account asked for with a fresh
code, its IBAN in full only in the answer to its post, told to every owner (and no one else) until it is decided,
withdrawn, approved by two operators (the first approval told until the second) or rejected by one; one pending
change at a time; the public profile with every problem at once, on the malls' pages once saved; only owners; another
shop's change a 404; every act in the audit trail."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx2 as httpx
import pyotp
import pytest
from fastapi.testclient import TestClient

from kleline.api.app import create_app
from kleline.bootstrap import Kleline, build
from kleline.config import load_settings
from kleline.merchant_users import MerchantUser
from kleline.staff.actor import StaffActor
from kleline.staff.roles import Role

from ..conftest import FakeClock
from ..operator_keys import OPERATOR
from .dashboard_world import DashboardVisitor, authenticator, member, merchant
from .page_visitor import alert

NEW_IBAN = "DE89370400440532013000"
SHOWN_NEW = "DE••\u00a0••••\u00a03000"
SHOWN_OLD = "FR••\u00a0••••\u00a02606"
OLD_IBAN = "FR1420041010050500013M02606"
_FORM_KEY = re.compile(r'name="form_key" value="([^"]+)"')
COMPLIANCE_1 = StaffActor("key", "1", Role.COMPLIANCE)
COMPLIANCE_2 = StaffActor("key", "2", Role.COMPLIANCE)


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    system = build(load_settings(database_url=database_url, sign_in_rate=1000), clock=clock)
    try:
        yield system
    finally:
        system.close()


class Owner(DashboardVisitor):
    """A person signed in with a code (an owner, unless told otherwise)."""

    user: MerchantUser
    totp: pyotp.TOTP

    def ask(self, iban: str, bic: str = "") -> httpx.Response:
        """Fill the new bank account's form from a fresh page, and send it once."""
        page = self.get("/dashboard/settings/bank-account")
        assert page.status_code == 200, page.text
        found = _FORM_KEY.search(page.text)
        assert found, page.text
        return self.post("/dashboard/settings/bank-account", form_key=found.group(1), iban=iban, bic=bic)


def _person(kleline: Kleline, clock: FakeClock, shop: str, email: str, role: str = "owner") -> Owner:
    user = member(kleline, shop, email, role, refund_limit=1000 if role == "support" else None)
    totp = authenticator(kleline, user, clock)
    browser = Owner(TestClient(create_app(kleline), follow_redirects=False))
    browser.sign_in_dashboard(email, totp, at=clock.now)
    browser.user, browser.totp = user, totp
    return browser


def test_an_owner_asks_for_a_new_account_sees_it_in_full_once_and_every_owner_is_told(
    kleline: Kleline, clock: FakeClock
) -> None:
    shop = merchant(kleline)
    ada = _person(kleline, clock, shop, "ada@example.org")
    page = ada.get("/dashboard/settings")
    assert page.status_code == 200
    assert 'href="/dashboard/settings" aria-current="page"' in page.text
    assert SHOWN_OLD in page.text and "PSSTFRPP" in page.text and OLD_IBAN not in page.text
    assert 'href="/dashboard/settings/users"' in page.text and 'href="/dashboard/settings/activity"' in page.text

    wrong = ada.ask("DE89 3704 0044 0532 0130 01", "COBADEFF")
    assert wrong.status_code == 400
    assert "Check the IBAN" in alert(wrong)
    assert 'value="DE89 3704 0044 0532 0130 01"' in wrong.text and 'value="COBADEFF"' in wrong.text
    same = ada.ask(OLD_IBAN)
    assert "already the account your shop is paid into" in alert(same)

    sent = ada.ask("de89 3704 0044 0532 0130 00")
    assert sent.status_code == 200, sent.text
    assert "DE89 3704 0044 0532 0130 00" in sent.text and "COBADEFFXXX" in sent.text
    [change] = kleline.bank_account_changes.list(shop)
    assert (change.iban, change.status, change.requested_by) == (NEW_IBAN, "pending", ada.user.id)
    assert kleline.merchants.get(shop).iban == OLD_IBAN

    again = ada.get("/dashboard/settings")
    assert "DE89 3704" not in again.text and NEW_IBAN not in again.text and SHOWN_NEW in again.text
    assert "A new bank account is waiting for Kleline" in again.text and "Withdraw this change" in again.text
    form = ada.get("/dashboard/settings/bank-account")
    assert 'name="iban"' not in form.text and "Only one change can wait at a time" in form.text

    grace = _person(kleline, clock, shop, "grace@example.org")
    overview = grace.get("/dashboard")
    assert "A new bank account is waiting for Kleline" in overview.text and SHOWN_NEW in overview.text
    assert "Ada asked on" in overview.text and NEW_IBAN not in overview.text
    accountant = _person(kleline, clock, shop, "books@example.org", "accountant")
    assert "bank account" not in accountant.get("/dashboard").text

    trail = ada.get("/dashboard/settings/activity").text
    assert f"Asked for a new bank account: {SHOWN_NEW}" in trail and NEW_IBAN not in trail


def test_the_same_form_sent_twice_asks_once(kleline: Kleline, clock: FakeClock) -> None:
    shop = merchant(kleline)
    ada = _person(kleline, clock, shop, "ada@example.org")
    page = ada.get("/dashboard/settings/bank-account")
    found = _FORM_KEY.search(page.text)
    assert found
    first = ada.post("/dashboard/settings/bank-account", form_key=found.group(1), iban=NEW_IBAN, bic="")
    second = ada.post("/dashboard/settings/bank-account", form_key=found.group(1), iban=NEW_IBAN, bic="")
    assert (first.status_code, second.status_code) == (200, 200)
    assert len(kleline.bank_account_changes.list(shop)) == 1
    other = ada.post("/dashboard/settings/bank-account", form_key="another-key", iban="NL91ABNA0417164300", bic="")
    assert other.status_code == 409 and "already waiting for Kleline" in alert(other)
    assert len(kleline.bank_account_changes.list(shop)) == 1


def test_a_new_account_asks_for_a_code_once_the_last_is_older_than_15_minutes(
    kleline: Kleline, clock: FakeClock
) -> None:
    shop = merchant(kleline)
    ada = _person(kleline, clock, shop, "ada@example.org")
    page = ada.get("/dashboard/settings/bank-account")
    found = _FORM_KEY.search(page.text)
    assert found
    clock.advance(minutes=16)
    late = ada.post("/dashboard/settings/bank-account", form_key=found.group(1), iban=NEW_IBAN, bic="")
    confirm = "/dashboard/confirm?next=%2Fdashboard%2Fsettings%2Fbank-account"
    assert (late.status_code, late.headers["location"]) == (303, confirm)  # the IBAN is not carried in the address
    assert kleline.bank_account_changes.list(shop) == []
    asked = ada.get("/dashboard/settings/bank-account")
    assert (asked.status_code, asked.headers["location"]) == (303, confirm)
    ada.get(confirm)
    confirmed = ada.post("/dashboard/confirm", code=ada.totp.at(clock.now), next="/dashboard/settings/bank-account")
    assert confirmed.headers["location"] == "/dashboard/settings/bank-account"
    assert ada.ask(NEW_IBAN).status_code == 200


def test_an_owner_withdraws_the_change_and_another_shops_change_is_not_found(
    kleline: Kleline, clock: FakeClock
) -> None:
    shop, other = merchant(kleline), merchant(kleline, "Fromagerie")
    ada = _person(kleline, clock, shop, "ada@example.org")
    stranger = _person(kleline, clock, other, "stranger@example.org")
    stranger.ask(NEW_IBAN)
    [theirs] = kleline.bank_account_changes.list(other)
    ada.get("/dashboard/settings")
    crossed = ada.post(f"/dashboard/settings/bank-account/{theirs.id}/withdraw")
    assert crossed.status_code == 404 and "no such bank account change in your shop" in crossed.text
    assert kleline.bank_account_changes.get(other, theirs.id).status == "pending"

    ada.ask(NEW_IBAN)
    [mine] = kleline.bank_account_changes.list(shop)
    ada.get("/dashboard/settings")
    forged = ada.post(f"/dashboard/settings/bank-account/{mine.id}/withdraw", csrf="forged")
    assert forged.status_code == 403
    clock.advance(minutes=1)
    done = ada.post(f"/dashboard/settings/bank-account/{mine.id}/withdraw")
    assert (done.status_code, done.headers["location"]) == (303, "/dashboard/settings")
    page = ada.get("/dashboard/settings")
    assert "The bank account change was withdrawn" in page.text and "Bank account change withdrawn" in page.text
    assert kleline.bank_account_changes.get(shop, mine.id).status == "withdrawn"
    twice = ada.post(f"/dashboard/settings/bank-account/{mine.id}/withdraw")
    assert twice.status_code == 303  # withdrawn already: nothing more happens
    assert "Withdrew a bank account change" in ada.get("/dashboard/settings/activity").text


def test_owners_are_told_of_the_first_approval_until_the_second_and_of_the_decision_for_14_days(
    kleline: Kleline, clock: FakeClock
) -> None:
    shop = merchant(kleline)
    ada = _person(kleline, clock, shop, "ada@example.org")
    ada.ask(NEW_IBAN)
    [change] = kleline.bank_account_changes.list(shop)
    clock.advance(minutes=5)
    kleline.bank_account_changes.reject(
        shop, change.id, "The account's holder is not your company.", by="cli", actor=OPERATOR
    )
    overview = ada.get("/dashboard").text
    assert "Bank account change rejected" in overview and "The account&#39;s holder is not your company." in overview
    settings = ada.get("/dashboard/settings").text
    assert "Bank account change rejected" in settings and "Change the bank account" in settings

    clock.advance(minutes=1)
    ada.ask("NL91ABNA0417164300")
    [newer, _] = kleline.bank_account_changes.list(shop)
    clock.advance(minutes=1)
    proposal = kleline.proposals.propose_bank_account(COMPLIANCE_1, shop, newer.id)
    for page in (ada.get("/dashboard").text, ada.get("/dashboard/settings").text):  # pending until a second approval
        assert "A new bank account is waiting for Kleline" in page and "two people at Kleline" in page
        assert "One person at Kleline has checked it; it now waits for a second person" in page
    assert "New bank account approved" not in ada.get("/dashboard").text
    french = ada.get("/dashboard/settings?lang=fr").text
    assert "Une personne de Kleline l’a vérifié\u00a0; il attend maintenant l’approbation" in french
    ada.get("/dashboard/settings?lang=en")  # the language sticks: back to English
    kleline.proposals.approve(COMPLIANCE_2, proposal.id)
    overview = ada.get("/dashboard").text
    assert "New bank account approved" in overview and "NL••\u00a0••••\u00a04300" in overview
    assert "Payouts go to</dt>\n    <dd>NL••\u00a0••••\u00a04300" in ada.get("/dashboard/settings").text
    trail = ada.get("/dashboard/settings/activity").text
    assert "Approved the new bank account: NL••\u00a0••••\u00a04300" in trail and "A Kleline operator" in trail
    assert f"Rejected the new bank account: {SHOWN_NEW}: The account&#39;s holder is not your company." in trail

    clock.advance(days=14)
    ada.sign_in_dashboard("ada@example.org", ada.totp, at=clock.now)
    assert "New bank account approved" not in ada.get("/dashboard").text
    assert "New bank account approved" in ada.get("/dashboard/settings").text  # the last decision stays here


def test_the_public_profile_shows_every_problem_at_once_and_reaches_the_malls_pages(
    kleline: Kleline, clock: FakeClock
) -> None:
    mall = kleline.malls.create("Rue du Bac", "rue-du-bac", actor=OPERATOR)
    shop = merchant(kleline)
    kleline.malls.add_merchant(mall.id, shop, actor=OPERATOR)
    ada = _person(kleline, clock, shop, "ada@example.org")
    page = ada.get("/dashboard/settings")
    assert f'href="/malls/{mall.id}">Rue du Bac</a>' in page.text

    long = "Livres " * 80
    wrong = ada.post("/dashboard/settings/profile", description=long, website="ftp://librairie.example")
    assert wrong.status_code == 400
    summary = alert(wrong)
    assert 'href="#description"' in summary and 'href="#website"' in summary
    assert "at most 500 characters" in summary and "starting with https://" in summary
    assert f">{long}</textarea>" in wrong.text and 'value="ftp://librairie.example"' in wrong.text
    assert kleline.merchants.get(shop).description is None

    forged = ada.post("/dashboard/settings/profile", csrf="forged", description="x", website="")
    assert forged.status_code == 403
    saved = ada.post(
        "/dashboard/settings/profile",
        description="Livres neufs et d'occasion,\n littérature française  et étrangère",
        website="https://librairie.example",
    )
    assert (saved.status_code, saved.headers["location"]) == (303, "/dashboard/settings")
    assert "Your shop&#39;s public profile was saved" in ada.get("/dashboard/settings").text
    shown = ada.get(f"/malls/{mall.id}").text
    assert "Livres neufs et d&#39;occasion, littérature française et étrangère" in shown
    assert 'href="https://librairie.example"' in shown
    trail = ada.get("/dashboard/settings/activity").text
    assert "Changed the shop&#39;s public profile: https://librairie.example" in trail
    ada.post("/dashboard/settings/profile", description="", website="")
    assert (
        kleline.merchants.get(shop).website is None
        and 'href="https://librairie.example"' not in ada.get(f"/malls/{mall.id}").text
    )


@pytest.mark.parametrize("role", ["accountant", "support"])
def test_only_owners_reach_the_settings(kleline: Kleline, clock: FakeClock, role: str) -> None:
    shop = merchant(kleline)
    _person(kleline, clock, shop, "ada@example.org")  # an owner, to keep
    person = _person(kleline, clock, shop, f"{role}@example.org", role)
    home = person.get("/dashboard")
    assert 'href="/dashboard/settings"' not in home.text and 'href="/dashboard/settings/users"' in home.text
    for path in ("/dashboard/settings", "/dashboard/settings/bank-account"):
        assert person.get(path).status_code == 403
    refused = person.post("/dashboard/settings/bank-account", form_key="k", iban=NEW_IBAN, bic="")
    assert refused.status_code == 403
    assert person.post("/dashboard/settings/profile", description="Mine now", website="").status_code == 403
    assert kleline.bank_account_changes.list(shop) == [] and kleline.merchants.get(shop).description is None


def test_the_settings_in_french(kleline: Kleline, clock: FakeClock) -> None:
    shop = merchant(kleline)
    ada = _person(kleline, clock, shop, "ada@example.org")
    ada.ask(NEW_IBAN)
    page = ada.get("/dashboard/settings?lang=fr")
    assert '<html lang="fr">' in page.text
    assert "Compte bancaire" in page.text and "Profil public" in page.text
    assert "attend la vérification de Kleline" in page.text
    form = ada.get("/dashboard/settings/bank-account?lang=fr")
    assert "Un seul changement" in form.text
