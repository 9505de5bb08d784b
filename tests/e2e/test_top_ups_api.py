"""Purse top-ups over HTTP: the issuer, the books, limits, strong authentication and its exemptions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx2 as httpx
import pyotp
import pytest
from fastapi.testclient import TestClient

from kleline.api.app import create_app
from kleline.bootstrap import Kleline, build
from kleline.config import load_settings
from kleline.ledger.audit import trial_balance, verify

from ..conftest import FakeClock
from .http import problem

PASSWORD = "correct horse battery staple"
VISA = "4242424242424242"


class Wallet:
    """A signed-in customer driving the API."""

    def __init__(self, client: TestClient, email: str = "ada@example.org") -> None:
        self.client = client
        signed_up = client.post("/v1/customers", json={"email": email, "password": PASSWORD, "name": "Ada"})
        assert signed_up.status_code == 201, signed_up.text
        self.id = signed_up.json()["id"]
        self.email = email
        self.headers: dict[str, str] = {}
        self.sign_in()
        self.totp: pyotp.TOTP | None = None

    def sign_in(self) -> None:
        token = self.client.post("/v1/auth/token", json={"email": self.email, "password": PASSWORD}).json()["token"]
        self.headers = {"Authorization": f"Bearer {token}"}

    def add_card(self, number: str = VISA) -> str:
        response = self.client.post(
            "/v1/wallet/cards",
            json={"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123", "holder_name": "Ada Lovelace"},
            headers=self.headers,
        )
        assert response.status_code == 201, response.text
        card_id: str = response.json()["id"]
        return card_id

    def enrol(self) -> pyotp.TOTP:
        response = self.client.post("/v1/wallet/sca/enrolment", headers=self.headers)
        assert response.status_code == 201, response.text
        self.totp = pyotp.parse_uri(response.json()["provisioning_uri"])
        assert isinstance(self.totp, pyotp.TOTP)
        return self.totp

    def top_up(self, amount: object, card_id: str, **extra: object) -> httpx.Response:
        body = {"amount": amount, "currency": "EUR", "card_id": card_id, **extra}
        return self.client.post("/v1/wallet/top-ups", json=body, headers=self.headers)

    def purse(self) -> dict[str, int]:
        purse: dict[str, int] = self.client.get("/v1/wallet", headers=self.headers).json()["purse"]
        return purse


@pytest.fixture
def make_kleline(database_url: str, clock: FakeClock) -> Iterator[Callable[..., Kleline]]:
    built: list[Kleline] = []

    def make(**settings: object) -> Kleline:
        system = build(load_settings(database_url=database_url, **settings), clock=clock)
        built.append(system)
        return system

    yield make
    for system in built:
        system.close()


@pytest.fixture
def kleline(make_kleline: Callable[..., Kleline]) -> Kleline:
    return make_kleline()


def test_a_top_up_takes_the_money_at_the_issuer_and_credits_the_purse(client: TestClient, kleline: Kleline) -> None:
    ada = Wallet(client)
    card = ada.add_card()
    response = ada.top_up(2500, card)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "succeeded"
    assert body["id"].startswith("top_")
    assert (body["amount"], body["currency"], body["card_id"], body["failure_code"]) == (2500, "EUR", card, None)
    assert ada.purse() == {"currency": "EUR", "balance": 2500, "held": 0, "available": 2500}
    assert kleline.ledger.balance("card:visa:receivable").posted == 2500
    movements = client.get("/v1/wallet/transactions", headers=ada.headers).json()
    assert [(m["entry_id"], m["amount"], m["balance_after"]) for m in movements["data"]] == [(body["id"], 2500, 2500)]
    assert trial_balance(kleline.db).balanced
    assert verify(kleline.db).ok


@pytest.mark.parametrize(
    ("amount", "currency", "param"),
    [
        (12.5, "EUR", "amount"),
        ("2500", "EUR", "amount"),
        (-100, "EUR", "amount"),
        (0, "EUR", "amount"),
        (2500, "USD", "currency"),
        (2500, "eur", "currency"),
    ],
)
def test_a_bad_amount_or_currency_is_refused_and_changes_nothing(
    client: TestClient, kleline: Kleline, amount: object, currency: str, param: str
) -> None:
    ada = Wallet(client)
    card = ada.add_card()
    response = client.post(
        "/v1/wallet/top-ups", json={"amount": amount, "currency": currency, "card_id": card}, headers=ada.headers
    )
    assert problem(response, 400, "validation_error")["param"] == param
    assert ada.purse()["balance"] == 0
    assert kleline.ledger.history(f"customer:{ada.id}:purse") == []


def test_another_customers_card_is_not_found_and_reveals_nothing(client: TestClient) -> None:
    ada, bob = Wallet(client), Wallet(client, "bob@example.org")
    bobs_card = bob.add_card()
    problem(ada.top_up(1000, bobs_card), 404, "not_found")
    problem(ada.top_up(1000, "card_unknown"), 404, "not_found")
    assert ada.purse()["balance"] == bob.purse()["balance"] == 0


def test_an_issuer_decline_is_a_failed_top_up_with_its_reason(client: TestClient) -> None:
    ada = Wallet(client)
    card = ada.add_card("4000000000009995")  # insufficient funds at its issuer
    body = ada.top_up(1000, card).json()
    assert (body["status"], body["failure_code"]) == ("failed", "insufficient_funds")
    assert ada.purse()["balance"] == 0


def test_the_purse_ceiling_of_an_unverified_customer_is_150_eur(client: TestClient) -> None:
    ada = Wallet(client)
    card = ada.add_card()
    ada.enrol()
    assert problem(ada.top_up(15001, card), 422, "limit_exceeded")["param"] == "amount"
    assert ada.top_up(2500, card).json()["status"] == "succeeded"
    body = problem(ada.top_up(12501, card), 422, "limit_exceeded")
    assert "at most 125.00 EUR can be added now" in body["detail"]
    assert ada.purse()["balance"] == 2500
    limits = client.get("/v1/wallet", headers=ada.headers).json()["limits"]
    assert (limits["topped_up_this_month"], limits["top_up_room"]) == (2500, 12500)  # as the refusal said


def test_monthly_top_ups_are_limited_per_calendar_month(make_kleline: Callable[..., Kleline], clock: FakeClock) -> None:
    kleline = make_kleline(unverified_max_balance=10**7, sca_cumulative_limit=10**7)
    with TestClient(create_app(kleline)) as client:
        ada = Wallet(client)
        card = ada.add_card()
        for _ in range(5):
            assert ada.top_up(3000, card).json()["status"] == "succeeded"
        assert "0.00 EUR is left this month" in problem(ada.top_up(1, card), 422, "limit_exceeded")["detail"]
        limits = client.get("/v1/wallet", headers=ada.headers).json()["limits"]
        assert (limits["topped_up_this_month"], limits["top_up_room"]) == (15000, 0)
        clock.advance(days=17)  # 2026-02-01 09:30: a new calendar month
        ada.sign_in()  # the token of last month has long expired
        assert ada.top_up(1000, card).json()["status"] == "succeeded"


def test_30_eur_is_exempt_but_30_01_needs_strong_authentication(client: TestClient, clock: FakeClock) -> None:
    ada = Wallet(client)
    card = ada.add_card()
    assert ada.top_up(3000, card).json()["status"] == "succeeded"
    problem(ada.top_up(3001, card), 403, "sca_enrolment_required")
    totp = ada.enrol()
    challenged = ada.top_up(3001, card).json()
    assert challenged["status"] == "requires_action"
    challenge = challenged["next_action"]["challenge_id"]
    assert ada.purse()["balance"] == 3000
    code = totp.at(clock.now)
    done = ada.top_up(3001, card, challenge_id=challenge, sca_code=code).json()
    assert done["status"] == "succeeded"
    assert ada.purse()["balance"] == 6001


def test_a_challenge_code_is_valid_once_and_for_its_own_amount(client: TestClient, clock: FakeClock) -> None:
    ada = Wallet(client)
    card = ada.add_card()
    totp = ada.enrol()
    challenge = ada.top_up(5000, card).json()["next_action"]["challenge_id"]
    problem(ada.top_up(5001, card, challenge_id=challenge, sca_code=totp.at(clock.now)), 409, "sca_challenge_mismatch")
    # the mismatch voided the challenge: even the right amount cannot use it now
    problem(ada.top_up(5000, card, challenge_id=challenge, sca_code=totp.at(clock.now)), 409, "sca_challenge_mismatch")
    second = ada.top_up(5000, card).json()["next_action"]["challenge_id"]
    clock.advance(seconds=31)
    assert ada.top_up(5000, card, challenge_id=second, sca_code=totp.at(clock.now)).json()["status"] == "succeeded"
    problem(ada.top_up(5000, card, challenge_id=second, sca_code=totp.at(clock.now)), 409, "sca_challenge_used")
    assert ada.purse()["balance"] == 5000


def test_the_payment_passing_100_eur_since_the_last_challenge_is_challenged(client: TestClient) -> None:
    ada = Wallet(client)
    card = ada.add_card()
    ada.enrol()
    statuses = [ada.top_up(2500, card).json()["status"] for _ in range(5)]
    assert statuses == ["succeeded"] * 4 + ["requires_action"]


def test_wrong_codes_are_counted_and_five_block_authentication(client: TestClient, clock: FakeClock) -> None:
    ada = Wallet(client)
    card = ada.add_card()
    totp = ada.enrol()
    challenge = ada.top_up(5000, card).json()["next_action"]["challenge_id"]
    wrong = "000000" if totp.at(clock.now) != "000000" else "111111"
    for _ in range(4):
        problem(ada.top_up(5000, card, challenge_id=challenge, sca_code=wrong), 403, "sca_code_invalid")
    problem(ada.top_up(5000, card, challenge_id=challenge, sca_code=wrong), 403, "sca_blocked")
    problem(ada.top_up(5000, card, challenge_id=challenge, sca_code=totp.at(clock.now)), 403, "sca_blocked")
    assert ada.purse()["balance"] == 0


def test_20_concurrent_exempt_top_ups_cannot_slip_past_the_counters(client: TestClient, kleline: Kleline) -> None:
    ada = Wallet(client)
    card = ada.add_card()
    ada.enrol()
    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(lambda _: ada.top_up(1000, card).json()["status"], range(20)))
    assert statuses.count("succeeded") == 10  # 10 x 10 EUR = the 100 EUR exemption, not a cent more
    assert statuses.count("requires_action") == 10
    assert ada.purse()["balance"] == 10000
    assert verify(kleline.db).ok


def test_authenticator_secrets_follow_a_master_key_rotation(
    make_kleline: Callable[..., Kleline], clock: FakeClock
) -> None:
    from kleline.money import Money
    from kleline.wallet.top_ups import TOP_UP_PAYEE
    from kleline.wallet.vault import generate_master_key

    first, second = generate_master_key("k1"), generate_master_key("k2")
    before = make_kleline(master_keys=first)
    ada = before.customers.sign_up("ada@example.org", PASSWORD, "Ada")
    totp = pyotp.parse_uri(before.strong_auth.enrol(ada.id, ada.email).provisioning_uri)
    assert isinstance(totp, pyotp.TOTP)
    during = make_kleline(master_keys=f"{second},{first}")
    assert during.strong_auth.rotate_keys() == 1
    assert during.strong_auth.rotate_keys() == 0
    after = make_kleline(master_keys=second)  # the old key is gone
    challenge = after.strong_auth.issue(ada.id, Money(5000, "EUR"), TOP_UP_PAYEE)
    after.strong_auth.pass_challenge(ada.id, challenge.id, totp.at(clock.now), Money(5000, "EUR"), TOP_UP_PAYEE)
