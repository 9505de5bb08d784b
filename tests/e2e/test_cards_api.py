"""Cards in the wallet over HTTP: registration after a zero-amount check, refusals, declines, removal, the wallet
view, no card number or security code anywhere it should not be, and master key rotation through the CLI."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from stdnum import luhn
from typer.testing import CliRunner

from kleline.banks import Authorization, BankNetwork, Capture, CardDetails, CvcResult, Reversal
from kleline.bootstrap import Kleline, build, vault_keys
from kleline.cli import app as cli
from kleline.config import DEVELOPMENT_MASTER_KEYS, load_settings
from kleline.db.engine import Database
from kleline.money import Money
from kleline.wallet import card_store
from kleline.wallet.registered_cards import CardNotFound, RegisteredCards
from kleline.wallet.vault import MasterKeys, UnknownKeyId, generate_master_key

from ..conftest import FakeClock
from ..operator_keys import operator_key
from .http import bearer, problem

PASSWORD = "correct horse battery staple"
VISA = "4242424242424242"
MASTERCARD = "5555555555554444"
DECLINED = "4000000000000002"
EXPIRED_AT_ISSUER = "4000000000000069"
CVC_FAILS = "4000000000000127"
REQUIRES_SCA = "4000002500003155"
BAD_LUHN = "4242424242424241"
NO_BRAND = "100000000000000" + luhn.calc_check_digit("100000000000000")  # Luhn-valid, no accepted brand


class CountingBank:
    """The sandbox network, counting verifications: proves which refusals never reach an issuer."""

    def __init__(self, inner: BankNetwork) -> None:
        self.inner = inner
        self.verifications = 0

    def verify_card(self, card: CardDetails, *, currency: str = "EUR") -> Authorization:
        self.verifications += 1
        return self.inner.verify_card(card, currency=currency)

    def authorize(self, card: CardDetails, amount: Money, reference: str) -> Authorization:
        return self.inner.authorize(card, amount, reference)

    def capture(self, authorization_id: str, amount: Money) -> Capture:
        return self.inner.capture(authorization_id, amount)

    def reverse(self, authorization_id: str) -> Reversal:
        return self.inner.reverse(authorization_id)


class AnsweringBank(CountingBank):
    """An issuer that answers every verification with a fixed response code and security-code result."""

    def __init__(self, code: str, cvc_result: CvcResult = CvcResult.MATCH) -> None:
        super().__init__(inner=None)  # type: ignore[arg-type]
        self.code = code
        self.cvc_result = cvc_result

    def verify_card(self, card: CardDetails, *, currency: str = "EUR") -> Authorization:
        self.verifications += 1
        approved = self.code in ("00", "85")
        return Authorization(
            approved=approved,
            code=self.code,
            authorization_id="RRN000000001" if approved else None,
            requires_sca=self.code == "1A",
            amount=Money.zero(currency),
            cvc_result=self.cvc_result,
        )


def cards_over(kleline: Kleline, bank: BankNetwork, *, master_keys: str | None = None, batch: int = 100) -> None:
    """Rebuild the card service of ``kleline`` over another bank (and master keys), as bootstrap would."""
    keys = vault_keys(kleline.settings)
    master = MasterKeys.parse(master_keys) if master_keys else keys.master_keys
    kleline.cards = RegisteredCards(kleline.db, bank, master, keys.fingerprint_key, kleline.clock, rotation_batch=batch)


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    system = build(load_settings(database_url=database_url), clock=clock)
    cards_over(system, CountingBank(system.bank))
    try:
        yield system
    finally:
        system.close()


@pytest.fixture
def bank(kleline: Kleline) -> CountingBank:
    counting = kleline.cards._bank
    assert isinstance(counting, CountingBank)
    return counting


def customer(client: TestClient, email: str = "ada@example.org") -> dict[str, str]:
    """Sign a new customer up and in: the Authorization header of their token."""
    response = client.post("/v1/customers", json={"email": email, "password": PASSWORD, "name": "Ada Lovelace"})
    assert response.status_code == 201, response.text
    token = client.post("/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert token.status_code == 201, token.text
    return bearer(token.json()["token"])


def card_body(number: str = VISA, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "number": number,
        "exp_month": 12,
        "exp_year": 2030,
        "cvc": "123",
        "holder_name": "Ada Lovelace",
    }
    body.update(changes)
    return body


def register(client: TestClient, headers: dict[str, str], number: str = VISA, **changes: Any) -> httpx.Response:
    return client.post("/v1/wallet/cards", json=card_body(number, **changes), headers=headers)


def card_rows(db: Database) -> int:
    with db.transaction(write=False) as tx:
        return int(tx.fetchone("SELECT COUNT(*) FROM cards")[0])


# --- registering ----------------------------------------------------------------------------------------------------


def test_a_customer_registers_a_visa_and_a_mastercard(client: TestClient, bank: CountingBank) -> None:
    headers = customer(client)

    visa = register(client, headers, "4242 4242 4242 4242", cvc="314")
    mastercard = register(client, headers, "5555-5555-5555-4444", exp_month=1, exp_year=2026)

    assert visa.status_code == 201, visa.text
    assert mastercard.status_code == 201, mastercard.text
    assert visa.json()["id"].startswith("card_")
    assert {k: v for k, v in visa.json().items() if k not in ("id", "created_at")} == {
        "brand": "visa",
        "first6": "424242",
        "last4": "4242",
        "exp_month": 12,
        "exp_year": 2030,
        "holder_name": "Ada Lovelace",
    }
    assert (mastercard.json()["brand"], mastercard.json()["first6"], mastercard.json()["last4"]) == (
        "mastercard",
        "555555",
        "4444",
    )
    assert "cvc" not in visa.json()
    assert bank.verifications == 2
    listed = client.get("/v1/wallet/cards", headers=headers).json()
    assert {card["id"] for card in listed["data"]} == {visa.json()["id"], mastercard.json()["id"]}
    assert listed["has_more"] is False


def test_a_registered_card_opens_for_a_payment_without_its_security_code(client: TestClient, kleline: Kleline) -> None:
    headers = customer(client)
    card_id = register(client, headers).json()["id"]
    customer_id = client.get("/v1/wallet", headers=headers).json()["customer"]["id"]

    details = kleline.cards.card_details(customer_id, card_id)

    assert (details.number, details.exp_month, details.exp_year, details.cvc) == (VISA, 12, 2030, None)


def test_a_card_whose_issuer_requires_strong_authentication_is_registered(client: TestClient) -> None:
    # A zero-amount check moves no money: the challenge belongs to each payment made with the card.
    response = register(client, customer(client), REQUIRES_SCA)
    assert response.status_code == 201, response.text
    assert response.json()["last4"] == "3155"


@pytest.mark.parametrize(
    ("changes", "status", "code", "param"),
    [
        ({"number": BAD_LUHN}, 400, "invalid_card_number", "number"),
        ({"number": "4242 4242"}, 400, "invalid_card_number", "number"),
        ({"number": NO_BRAND}, 400, "unsupported_card_brand", "number"),
        ({"exp_month": 12, "exp_year": 2025}, 400, "expired_card", "exp_year"),
        ({"exp_month": 13}, 400, "invalid_expiry_month", "exp_month"),
        ({"exp_year": 30}, 400, "invalid_expiry_year", "exp_year"),
        ({"cvc": "12"}, 400, "invalid_cvc", "cvc"),
        ({"cvc": "12a"}, 400, "invalid_cvc", "cvc"),
        ({"cvc": "1234"}, 400, "invalid_cvc", "cvc"),
        ({"cvc": 123}, 400, "validation_error", "cvc"),
        ({"number": 4242424242424242}, 400, "validation_error", "number"),
        ({"exp_month": "12"}, 400, "validation_error", "exp_month"),
        ({"exp_year": "2030"}, 400, "validation_error", "exp_year"),
        ({"exp_month": 12.0}, 400, "validation_error", "exp_month"),
        ({"exp_month": True}, 400, "validation_error", "exp_month"),
        ({"holder_name": "  "}, 400, "validation_error", "holder_name"),
        ({"holder_name": "Ada 4242 4242 4242 4242"}, 400, "validation_error", "holder_name"),
        ({"holder_name": "Ada\x00Lovelace"}, 400, "validation_error", "holder_name"),
    ],
)
def test_card_details_that_break_a_rule_are_refused_before_any_bank_call(
    client: TestClient,
    kleline: Kleline,
    bank: CountingBank,
    changes: dict[str, Any],
    status: int,
    code: str,
    param: str,
) -> None:
    headers = customer(client)
    response = client.post("/v1/wallet/cards", json=card_body(**changes), headers=headers)
    assert problem(response, status, code)["param"] == param
    assert bank.verifications == 0
    assert card_rows(kleline.db) == 0


@pytest.mark.parametrize("missing", ["number", "exp_month", "exp_year", "cvc", "holder_name"])
def test_a_missing_field_is_named(client: TestClient, missing: str) -> None:
    body = card_body()
    del body[missing]
    response = client.post("/v1/wallet/cards", json=body, headers=customer(client))
    assert problem(response, 400, "validation_error")["param"] == missing


@pytest.mark.parametrize(
    ("number", "decline_code", "param"),
    [
        (DECLINED, "do_not_honor", None),
        (CVC_FAILS, "incorrect_cvc", "cvc"),
        (EXPIRED_AT_ISSUER, "expired_card", None),
    ],
)
def test_a_card_declined_by_its_issuer_is_not_registered(
    client: TestClient, kleline: Kleline, bank: CountingBank, number: str, decline_code: str, param: str | None
) -> None:
    headers = customer(client)
    body = problem(register(client, headers, number), 402, "card_declined")
    assert body["decline_code"] == decline_code
    assert body.get("param") == param
    assert bank.verifications == 1
    assert card_rows(kleline.db) == 0
    assert client.get("/v1/wallet/cards", headers=headers).json()["data"] == []


@pytest.mark.parametrize(
    ("code", "cvc_result", "decline_code"),
    [
        ("51", CvcResult.MATCH, "insufficient_funds"),
        ("54", CvcResult.NOT_CHECKED, "expired_card"),
        ("43", CvcResult.MATCH, "do_not_honor"),  # stolen card: deliberately generic
        ("91", CvcResult.MATCH, "issuer_unavailable"),
        ("Z9", CvcResult.MATCH, "generic_decline"),
        ("00", CvcResult.NO_MATCH, "incorrect_cvc"),  # approved, but the security code failed
    ],
)
def test_issuer_answers_become_stable_decline_codes(
    client: TestClient, kleline: Kleline, code: str, cvc_result: CvcResult, decline_code: str
) -> None:
    cards_over(kleline, AnsweringBank(code, cvc_result))
    body = problem(register(client, customer(client)), 402, "card_declined")
    assert body["decline_code"] == decline_code
    assert card_rows(kleline.db) == 0


def test_the_same_card_registered_twice_is_refused_and_writes_nothing(
    client: TestClient, kleline: Kleline, bank: CountingBank
) -> None:
    headers = customer(client)
    assert register(client, headers, VISA).status_code == 201

    again = register(client, headers, "4242-4242 4242-4242", exp_month=6, exp_year=2031, holder_name="A. Lovelace")

    assert problem(again, 409, "card_already_registered")["param"] == "number"
    assert card_rows(kleline.db) == 1
    assert bank.verifications == 1  # spotted by fingerprint before the issuer was asked again
    other = customer(client, "grace@example.org")
    assert register(client, other, VISA).status_code == 201  # another customer may hold the same card


def test_two_requests_racing_to_register_the_same_card_store_it_once(
    client: TestClient, kleline: Kleline, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = customer(client)
    assert register(client, headers).status_code == 201
    find = card_store.find_live_by_fingerprint
    checks = 0

    def missed_by_the_first_check(*args: Any) -> Any:
        nonlocal checks
        checks += 1  # the first check ran before the other request committed; the database settles it
        return None if checks == 1 else find(*args)

    monkeypatch.setattr(card_store, "find_live_by_fingerprint", missed_by_the_first_check)
    problem(register(client, headers), 409, "card_already_registered")
    assert card_rows(kleline.db) == 1


def test_cards_need_a_customer_token(client: TestClient, kleline: Kleline) -> None:
    problem(client.post("/v1/wallet/cards", json=card_body()), 401, "unauthorized")
    operator = bearer(operator_key(kleline.db))
    problem(client.post("/v1/wallet/cards", json=card_body(), headers=operator), 403, "forbidden")
    problem(client.get("/v1/wallet/cards", headers=operator), 403, "forbidden")
    assert card_rows(kleline.db) == 0


# --- listing and removing -------------------------------------------------------------------------------------------


def test_the_wallet_lists_cards_with_first6_and_last4_only(client: TestClient) -> None:
    headers = customer(client)
    visa = register(client, headers).json()

    response = client.get("/v1/wallet", headers=headers)

    assert response.status_code == 200
    assert response.json()["cards"] == [visa]
    assert VISA not in response.text
    assert "cvc" not in response.text


def test_cards_are_listed_newest_first_a_page_at_a_time(client: TestClient, clock: FakeClock) -> None:
    headers = customer(client)
    ids = []
    for number in (VISA, MASTERCARD, REQUIRES_SCA):
        ids.append(register(client, headers, number).json()["id"])
        clock.advance(seconds=1)

    first = client.get("/v1/wallet/cards", params={"limit": 2}, headers=headers).json()
    second = client.get("/v1/wallet/cards", params={"limit": 2, "starting_after": ids[1]}, headers=headers).json()

    assert [card["id"] for card in first["data"]] == [ids[2], ids[1]]
    assert first["has_more"] is True
    assert [card["id"] for card in second["data"]] == [ids[0]]
    assert second["has_more"] is False
    problem(client.get("/v1/wallet/cards", params={"limit": 0}, headers=headers), 400, "validation_error")


def test_a_removed_card_leaves_the_wallet_and_can_be_registered_again(client: TestClient, kleline: Kleline) -> None:
    headers = customer(client)
    first = register(client, headers).json()["id"]

    assert client.delete(f"/v1/wallet/cards/{first}", headers=headers).status_code == 204

    assert client.get("/v1/wallet/cards", headers=headers).json()["data"] == []
    assert client.get("/v1/wallet", headers=headers).json()["cards"] == []
    problem(client.delete(f"/v1/wallet/cards/{first}", headers=headers), 404, "not_found")
    again = register(client, headers)
    assert again.status_code == 201, again.text
    assert again.json()["id"] != first
    assert [card["id"] for card in client.get("/v1/wallet/cards", headers=headers).json()["data"]] == [
        again.json()["id"]
    ]
    assert card_rows(kleline.db) == 2  # the removed record stays, for the payments that name it


def test_another_customers_card_is_not_found_and_nothing_is_revealed(client: TestClient, kleline: Kleline) -> None:
    ada = customer(client)
    card_id = register(client, ada).json()["id"]
    grace = customer(client, "grace@example.org")
    grace_id = client.get("/v1/wallet", headers=grace).json()["customer"]["id"]
    unknown_id = "card_" + "0" * 32

    theirs = problem(client.delete(f"/v1/wallet/cards/{card_id}", headers=grace), 404, "not_found")
    unknown = problem(client.delete(f"/v1/wallet/cards/{unknown_id}", headers=grace), 404, "not_found")

    assert {k: v for k, v in theirs.items() if k != "detail"} == {k: v for k, v in unknown.items() if k != "detail"}
    assert theirs["detail"].replace(card_id, "?") == unknown["detail"].replace(unknown_id, "?")
    for leak in ("4242", "424242", "visa", "Ada"):
        assert leak not in str(theirs)
    problem(client.get("/v1/wallet/cards", params={"starting_after": card_id}, headers=grace), 404, "not_found")
    with pytest.raises(CardNotFound):
        kleline.cards.card_details(grace_id, card_id)
    assert [card["id"] for card in client.get("/v1/wallet/cards", headers=ada).json()["data"]] == [card_id]


# --- nothing leaks ---------------------------------------------------------------------------------------------------

# Security codes chosen apart from anything else the test stores (months, years, small counters).
LEAK_CARDS = [
    (VISA, "739", 201),
    (MASTERCARD, "846", 201),
    (REQUIRES_SCA, "917", 201),
    (DECLINED, "628", 402),
    (CVC_FAILS, "582", 402),
    (EXPIRED_AT_ISSUER, "471", 402),
    (BAD_LUHN, "395", 400),
    (VISA, "739", 409),
]


def _needles(number: str) -> list[bytes]:
    """The ways a card number could sit in a file or a dump: digits, grouped, and as the hex of its ASCII."""
    groups = [number[i : i + 4] for i in range(0, len(number), 4)]
    texts = [number, " ".join(groups), "-".join(groups)]
    return [text.encode() for text in texts] + [number.encode().hex().encode()]


def _cvc_pattern(cvc: str) -> re.Pattern[bytes]:
    # A code is three digits: it is searched as a token of its own, not inside longer numbers, ids or hex.
    return re.compile(rb"(?<![0-9A-Za-z])" + cvc.encode() + rb"(?![0-9A-Za-z])")


def _assert_clean(where: str, data: bytes, *, cvcs: bool = True) -> None:
    for number, cvc, _status in LEAK_CARDS:
        for needle in _needles(number):
            assert needle not in data, f"card number ending {number[-4:]} found in {where}"
        if cvcs:
            assert not _cvc_pattern(cvc).search(data), f"security code of the card ending {number[-4:]} in {where}"


def _every_value(db: Database) -> Iterator[tuple[str, object]]:
    """Every value of every column of every table, named ``table.column``."""
    with db.transaction(write=False) as tx:
        if db.is_postgres:
            tables = [row[0] for row in tx.fetchall("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        else:
            tables = [row[0] for row in tx.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            cursor = tx.execute(f'SELECT * FROM "{table}"')
            columns = [column[0] for column in cursor.description]
            for row in cursor.fetchall():
                for column, value in zip(columns, row, strict=True):
                    yield f"{table}.{column}", value


def _assert_database_clean(db: Database, url: str, tmp_path: Path) -> None:
    cvc_values = {int(cvc) for _number, cvc, _status in LEAK_CARDS}
    for where, value in _every_value(db):
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int):
            assert value not in cvc_values, f"a security code stored as a number in {where}"
        elif isinstance(value, str | bytes | memoryview):
            _assert_clean(where, value.encode() if isinstance(value, str) else bytes(value))
    if db.is_postgres:
        pg_dump = shutil.which("pg_dump")
        if pg_dump is not None:
            dump = subprocess.run([pg_dump, "--no-owner", url], capture_output=True, check=True, timeout=60).stdout
            assert b"CREATE TABLE public.cards" in dump
            _assert_clean("pg_dump", dump)
    else:
        # Files as they lie on disk, the write-ahead log included: deleted or superseded pages too. Three digits
        # do occur by chance in kilobytes of ciphertext and hashes, so the raw files are searched for numbers only;
        # every stored value was searched for the codes above.
        files = [path for path in tmp_path.iterdir() if path.name.startswith("kleline.db")]
        assert any(path.name.endswith("-wal") for path in files)
        for path in files:
            _assert_clean(path.name, path.read_bytes(), cvcs=False)


_STANDARD_RECORD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def _record_payload(record: logging.LogRecord) -> bytes:
    """What a log record carries beyond its timing and process metadata: message, arguments, extras, traceback."""
    extras = {key: value for key, value in vars(record).items() if key not in _STANDARD_RECORD}
    parts = [record.getMessage(), repr(record.args), repr(extras), record.exc_text or "", record.stack_info or ""]
    return "\n".join(parts).encode()


def test_no_card_number_or_security_code_is_stored_logged_or_returned(
    client: TestClient,
    kleline: Kleline,
    database_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("kleline", "uvicorn", "uvicorn.error", "uvicorn.access", "fastapi", "httpx", "httpx2"):
        caplog.set_level(logging.DEBUG, logger=name)
    bodies: list[bytes] = []

    def keep(response: httpx.Response) -> httpx.Response:
        bodies.append(response.content)
        return response

    headers = customer(client)
    for number, cvc, status in LEAK_CARDS:
        response = keep(register(client, headers, number, cvc=cvc))
        assert response.status_code == status, response.text
    registered = keep(client.get("/v1/wallet/cards", headers=headers)).json()["data"]
    keep(client.get("/v1/wallet", headers=headers))
    # Once top-ups exist, them too (the OpenAPI document itself shows the public test card as an example).
    if "/v1/wallet/top-ups" in client.get("/openapi.json").json()["paths"]:
        top_up = {"amount": 1000, "currency": "EUR", "card_id": registered[0]["id"]}
        assert keep(client.post("/v1/wallet/top-ups", json=top_up, headers=headers)).status_code < 500
    keep(client.delete(f"/v1/wallet/cards/{registered[-1]['id']}", headers=headers))
    assert len(registered) == 3

    for body in bodies:
        _assert_clean("an API response", body)
    _assert_clean("the logs", caplog.text.encode())
    for record in caplog.records:
        _assert_clean(f"a log record of {record.name}", _record_payload(record))
    assert any("registered" in record.getMessage() for record in caplog.records)  # the logs were captured
    _assert_database_clean(kleline.db, database_url, tmp_path)
    kleline.close()  # checkpoints the write-ahead log into the database file: search that too
    if not database_url.startswith("postgresql"):
        _assert_clean("the checkpointed database", (tmp_path / "kleline.db").read_bytes(), cvcs=False)


# --- master key rotation --------------------------------------------------------------------------------------------

K1 = generate_master_key("k1")
K2 = generate_master_key("k2")


def _key_ids(db: Database) -> list[str]:
    with db.transaction(write=False) as tx:
        return sorted(row[0] for row in tx.fetchall("SELECT key_id FROM cards"))


def test_cards_sealed_under_k1_still_open_after_rotating_to_k2_and_dropping_k1(
    database_url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    numbers = [VISA, MASTERCARD, REQUIRES_SCA]
    old = build(load_settings(database_url=database_url, master_keys=K1), clock=clock)
    try:
        owner = old.customers.sign_up("ada@example.org", PASSWORD, "Ada Lovelace").id
        cards = [old.cards.register(owner, number, 12, 2030, "123", "Ada Lovelace") for number in numbers]
        old.cards.remove(owner, cards[2].id)  # removed records are rotated too
    finally:
        old.close()
    both = build(load_settings(database_url=database_url, master_keys=f"{K2},{K1}"), clock=clock)
    try:
        assert both.cards.card_details(owner, cards[0].id).number == VISA  # k1 still opens before rotation
        newer = both.cards.register(owner, "4000 0566 5566 5556", 12, 2030, "123", "Ada Lovelace")
        assert _key_ids(both.db) == ["k1", "k1", "k1", "k2"]
    finally:
        both.close()

    monkeypatch.setenv("KLELINE_DATABASE_URL", database_url)
    monkeypatch.setenv("KLELINE_MASTER_KEYS", f"{K2},{K1}")
    monkeypatch.setenv("COLUMNS", "240")
    rotated = CliRunner().invoke(cli, ["keys", "rotate"])
    again = CliRunner().invoke(cli, ["keys", "rotate"])

    assert rotated.exit_code == 0, rotated.output
    assert "re-wrapped 3 card record(s) and 0 authenticator secret(s) under master key k2" in rotated.output
    assert "re-wrapped 0 card record(s) and 0 authenticator secret(s) under master key k2" in again.output
    # The customer's own data key (sealing the email and name) moves with the rest.
    assert "re-wrapped 1 customer data key(s) under master key k2" in rotated.output
    assert "re-wrapped 0 customer data key(s)" in again.output
    new = build(load_settings(database_url=database_url, master_keys=K2), clock=clock)
    try:
        assert _key_ids(new.db) == ["k2"] * 4
        assert new.customers.get(owner).email == "ada@example.org"
        for card, number in zip([*cards[:2], newer], [VISA, MASTERCARD, "4000056655665556"], strict=True):
            details = new.cards.card_details(owner, card.id)
            assert (details.number, details.last4) == (number, number[-4:])
    finally:
        new.close()
    stale = build(load_settings(database_url=database_url, master_keys=K1), clock=clock)
    try:
        with pytest.raises(UnknownKeyId):  # proof that nothing is under k1 any more
            stale.cards.card_details(owner, cards[0].id)
    finally:
        stale.close()


def test_an_interrupted_rotation_keeps_its_finished_batches_and_resumes(
    kleline: Kleline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The customers' own data keys (holders' names) stay under the development key Kleline was built with.
    cards_over(kleline, kleline.bank, master_keys=f"{K1},{DEVELOPMENT_MASTER_KEYS}")
    owner = kleline.customers.sign_up("ada@example.org", PASSWORD, "Ada Lovelace").id
    numbers = [VISA, MASTERCARD, REQUIRES_SCA, "4000056655665556", "5200828282828210"]
    for number in numbers:
        kleline.cards.register(owner, number, 12, 2030, "123", "Ada Lovelace")
    cards_over(kleline, kleline.bank, master_keys=f"{K2},{K1},{DEVELOPMENT_MASTER_KEYS}", batch=2)
    replace_wrapping = card_store.replace_wrapping
    calls = 0

    def crash_on_the_fourth(*args: Any, **kwargs: Any) -> bool:
        nonlocal calls
        calls += 1
        if calls == 4:
            raise RuntimeError("the process was killed")
        return replace_wrapping(*args, **kwargs)

    monkeypatch.setattr(card_store, "replace_wrapping", crash_on_the_fourth)
    with pytest.raises(RuntimeError):
        kleline.cards.rotate_keys()
    assert _key_ids(kleline.db) == ["k1"] * 3 + ["k2"] * 2  # the first batch stayed, the second rolled back

    monkeypatch.setattr(card_store, "replace_wrapping", replace_wrapping)
    assert kleline.cards.rotate_keys() == 3
    assert _key_ids(kleline.db) == ["k2"] * 5
    cards_over(kleline, kleline.bank, master_keys=f"{K2},{DEVELOPMENT_MASTER_KEYS}")
    assert sorted(card.last4 for card in kleline.cards.list(owner)) == sorted(n[-4:] for n in numbers)
    for card in kleline.cards.list(owner):
        assert kleline.cards.card_details(owner, card.id).last4 == card.last4
