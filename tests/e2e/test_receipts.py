"""Signed receipts end to end: the public keys, who may fetch a receipt, and ``kleline receipt`` offline."""

from __future__ import annotations

import base64
import http.server
import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from kleline.bootstrap import Kleline
from kleline.cli import app
from kleline.config import DEVELOPMENT_RECEIPT_SIGNING_KEYS
from kleline.money import Money
from kleline.receipts import PublicKeys, SignedReceipt, SigningKeys, generate_signing_key, verify
from kleline.wallet.vault import generate_master_key

from ..operator_keys import operator_key
from ..unit.receipts.test_model import a_receipt
from .http import bearer, problem

IBAN = "FR1420041010050500013M02606"
PASSWORD = "correct horse battery staple"


def issue(kleline: Kleline, *, merchant_id: str, customer_id: str, object_id: str = "pay_1") -> SignedReceipt:
    with kleline.db.transaction() as tx:
        return kleline.receipts.issue(
            tx,
            kind="payment",
            object_id=object_id,
            payment_id=object_id,
            merchant_id=merchant_id,
            merchant_name="La Boutique [bold]",
            customer_id=customer_id,
            customer_ref=kleline.disclosure.pseudonyms.of(merchant_id, customer_id),
            amount=Money(1250, "EUR"),
            commission=Money(44, "EUR"),
            issued_at=datetime(2026, 1, 15, 9, 30, tzinfo=UTC),
        )


def customer_token(client: TestClient, email: str) -> tuple[str, str]:
    created = client.post("/v1/customers", json={"email": email, "password": PASSWORD, "name": "Ada"})
    assert created.status_code == 201, created.text
    token = client.post("/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert token.status_code in (200, 201), token.text
    return created.json()["id"], token.json()["token"]


def merchant_key(kleline: Kleline, name: str) -> tuple[str, str]:
    merchant, secret = kleline.merchants.register(name=name, email=f"{name.lower()}@example.org", iban=IBAN)
    return merchant.id, secret


# --- GET /v1/keys ----------------------------------------------------------------------------------------------------


def test_the_public_keys_are_public_and_verify_the_receipts(client: TestClient, kleline: Kleline) -> None:
    response = client.get("/v1/keys")
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "data": [
            {
                "id": "dev1",
                "algorithm": "Ed25519",
                "public_key": SigningKeys.parse(DEVELOPMENT_RECEIPT_SIGNING_KEYS)
                .public_keys()
                .to_json()["data"][0]["public_key"],
                "active": True,
            }
        ],
        "has_more": False,
    }
    signed = issue(kleline, merchant_id="mer_1", customer_id="cus_1")
    assert verify(signed.to_json(), PublicKeys.from_json(body)) == signed.receipt


# --- GET /v1/receipts/{id}: who may see a receipt ----------------------------------------------------------------


@pytest.fixture
def parties(client: TestClient, kleline: Kleline) -> dict[str, Any]:
    """A receipt between one merchant and one customer, and a key for everyone who might ask for it."""
    merchant_id, merchant_secret = merchant_key(kleline, "Boutique")
    _other_merchant, other_secret = merchant_key(kleline, "Rival")
    customer_id, customer = customer_token(client, "ada@example.org")
    _other_customer, other_customer = customer_token(client, "bob@example.org")
    signed = issue(kleline, merchant_id=merchant_id, customer_id=customer_id)
    return {
        "signed": signed,
        "operator": operator_key(kleline.db),
        "merchant": merchant_secret,
        "other merchant": other_secret,
        "customer": customer,
        "other customer": other_customer,
    }


@pytest.mark.parametrize("who", ["operator", "merchant", "customer"])
def test_the_operator_and_the_two_parties_get_the_signed_receipt(
    client: TestClient, kleline: Kleline, parties: dict[str, Any], who: str
) -> None:
    response = client.get("/v1/receipts/pay_1", headers=bearer(parties[who]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == parties["signed"].to_json()
    assert body["customer"]["id"].startswith("cpn_")  # the document names no one the merchant could link
    assert verify(body, PublicKeys.from_json(client.get("/v1/keys").json())) == parties["signed"].receipt


@pytest.mark.parametrize("who", ["other merchant", "other customer"])
def test_anyone_else_is_told_there_is_no_such_receipt(client: TestClient, parties: dict[str, Any], who: str) -> None:
    denied = problem(client.get("/v1/receipts/pay_1", headers=bearer(parties[who])), 404, "not_found")
    missing = problem(client.get("/v1/receipts/pay_2", headers=bearer(parties[who])), 404, "not_found")
    assert denied["detail"].replace("pay_1", "pay_2") == missing["detail"]  # the same answer as for nothing


@pytest.mark.parametrize(
    "headers",
    [{}, bearer("op_forged"), bearer("sk_forged"), bearer("ct_forged"), bearer("pay_1"), {"Authorization": "Basic x"}],
)
def test_a_missing_or_invalid_key_is_unauthorized_and_learns_nothing(
    client: TestClient, parties: dict[str, Any], headers: dict[str, str]
) -> None:
    existing = client.get("/v1/receipts/pay_1", headers=headers)
    code = existing.json()["code"]
    assert code in ("unauthorized", "invalid_credentials")  # the customer tokens' own code
    problem(existing, 401, code)
    assert client.get("/v1/receipts/pay_2", headers=headers).json() == existing.json()


def test_an_object_without_a_receipt_is_not_found_even_for_the_operator(
    client: TestClient, parties: dict[str, Any]
) -> None:
    problem(client.get("/v1/receipts/pay_nope", headers=bearer(parties["operator"])), 404, "not_found")


def test_the_receipt_fetched_over_http_verifies_offline_with_the_published_keys(
    client: TestClient, parties: dict[str, Any], tmp_path: Path, runner: CliRunner
) -> None:
    receipt = tmp_path / "receipt.json"
    receipt.write_text(client.get("/v1/receipts/pay_1", headers=bearer(parties["customer"])).text)
    keys = tmp_path / "keys.json"
    keys.write_text(client.get("/v1/keys").text)
    result = run(runner, "receipt", "verify", str(receipt), "--keys", str(keys))
    assert result.exit_code == 0, result.output
    assert "La Boutique [bold]" in result.output  # the name as signed, not read as markup


# --- kleline receipt ... (no database needed) --------------------------------------------------------------------


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """Plain, wide output; the receipt keys of the environment are the development ones unless a test sets some."""
    monkeypatch.setenv("COLUMNS", "240")
    for variable in ("FORCE_COLOR", "TTY_COMPATIBLE", "KLELINE_RECEIPT_SIGNING_KEYS", "KLELINE_ENV"):
        monkeypatch.delenv(variable, raising=False)
    return CliRunner()


def run(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(app, list(args))


def write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


DEV_KEYS = SigningKeys.parse(DEVELOPMENT_RECEIPT_SIGNING_KEYS)


def test_verify_prints_a_readable_summary_of_a_valid_receipt(runner: CliRunner, tmp_path: Path) -> None:
    file = write(tmp_path / "r.json", DEV_KEYS.sign(a_receipt()).to_json())
    result = run(runner, "receipt", "verify", str(file))
    assert result.exit_code == 0, result.output
    for expected in (
        "valid receipt rcpt_1",
        "key dev1 (Ed25519, active)",
        "payment pay_1",
        "Chez Émile (mer_1)",
        "cus_1",
        "12.50 EUR",
        "0.44 EUR",
        "2026-01-15T09:30:00.123456Z",
    ):
        assert expected in result.output


def test_verify_describes_a_refund(runner: CliRunner, tmp_path: Path) -> None:
    refund = a_receipt(kind="refund", object_id="re_1", amount=Money(500, "EUR"), commission=Money(18, "EUR"))
    result = run(runner, "receipt", "verify", str(write(tmp_path / "r.json", DEV_KEYS.sign(refund).to_json())))
    assert result.exit_code == 0, result.output
    assert "refund re_1 of payment pay_1" in result.output
    assert "5.00 EUR refunded" in result.output and "0.18 EUR returned" in result.output


@pytest.mark.parametrize(
    ("path", "value"),
    [("amount.amount", 125000), ("commission.amount", 1), ("merchant.name", "Chez Emile"), ("customer.id", "cus_2")],
)
def test_verify_rejects_a_tampered_receipt(runner: CliRunner, tmp_path: Path, path: str, value: Any) -> None:
    document = DEV_KEYS.sign(a_receipt()).to_json()
    parent, _, last = path.partition(".")
    document[parent][last] = value
    result = run(runner, "receipt", "verify", str(write(tmp_path / "r.json", document)))
    assert result.exit_code == 1
    assert "INVALID receipt: the signature does not match the document under key 'dev1'" in result.output


def test_verify_rejects_a_receipt_signed_with_an_unknown_key(runner: CliRunner, tmp_path: Path) -> None:
    stranger = SigningKeys.parse(generate_signing_key("k9"))
    result = run(runner, "receipt", "verify", str(write(tmp_path / "r.json", stranger.sign(a_receipt()).to_json())))
    assert result.exit_code == 1
    assert "signed with key 'k9', not among the keys (dev1)" in result.output
    assert "--keys" in result.output  # the hint: check against the issuer's published keys


def test_verify_rejects_a_malformed_signature_or_document(runner: CliRunner, tmp_path: Path) -> None:
    document = DEV_KEYS.sign(a_receipt()).to_json()
    document["signature"]["value"] = "***"
    result = run(runner, "receipt", "verify", str(write(tmp_path / "bad.json", document)))
    assert result.exit_code == 1 and "signature.value is not unpadded base64url" in result.output
    document = DEV_KEYS.sign(a_receipt()).to_json()
    del document["issued_at"]
    result = run(runner, "receipt", "verify", str(write(tmp_path / "bad.json", document)))
    assert result.exit_code == 1 and "lacks issued_at" in result.output
    (tmp_path / "junk.json").write_text("{not json")
    result = run(runner, "receipt", "verify", str(tmp_path / "junk.json"))
    assert result.exit_code == 1 and "not a receipt: not valid JSON" in result.output


def test_verify_with_a_saved_copy_of_the_keys_accepts_a_receipt_of_a_retired_key(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    k1, k2 = generate_signing_key("k1"), generate_signing_key("k2")
    old = write(tmp_path / "old.json", SigningKeys.parse(k1).sign(a_receipt()).to_json())
    monkeypatch.setenv("KLELINE_RECEIPT_SIGNING_KEYS", f"{k2},{k1}")
    keys = run(runner, "receipt", "keys")
    assert keys.exit_code == 0, keys.output
    published = json.loads(keys.output)
    assert [(k["id"], k["active"]) for k in published["data"]] == [("k2", True), ("k1", False)]
    saved = write(tmp_path / "keys.json", published)
    monkeypatch.setenv("KLELINE_RECEIPT_SIGNING_KEYS", k2)  # k1 dropped from the configuration since
    assert run(runner, "receipt", "verify", str(old)).exit_code == 1
    result = run(runner, "receipt", "verify", str(old), "--keys", str(saved))
    assert result.exit_code == 0, result.output
    assert "key k1 (Ed25519, retired, still valid for verification)" in result.output


def test_verify_reads_the_keys_from_a_url(runner: CliRunner, tmp_path: Path) -> None:
    body = json.dumps(DEV_KEYS.public_keys().to_json()).encode()

    class Keys(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    with serving(Keys) as url:
        file = write(tmp_path / "r.json", DEV_KEYS.sign(a_receipt()).to_json())
        result = run(runner, "receipt", "verify", str(file), "--keys", f"{url}/v1/keys")
    assert result.exit_code == 0, result.output


class serving:  # noqa: N801 (reads as a with-statement)
    """A local HTTP server in a thread for the length of a ``with`` block."""

    def __init__(self, handler: type[http.server.BaseHTTPRequestHandler]) -> None:
        self._server = http.server.HTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self._thread.start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def test_unreadable_inputs_exit_with_status_2(runner: CliRunner, tmp_path: Path) -> None:
    file = write(tmp_path / "r.json", DEV_KEYS.sign(a_receipt()).to_json())
    result = run(runner, "receipt", "verify", str(tmp_path / "missing.json"))
    assert result.exit_code == 2 and "cannot read" in result.output
    result = run(runner, "receipt", "verify", str(file), "--keys", str(tmp_path / "missing-keys.json"))
    assert result.exit_code == 2 and "cannot read the keys" in result.output
    result = run(runner, "receipt", "verify", str(file), "--keys", str(write(tmp_path / "k.json", {"keys": []})))
    assert result.exit_code == 2 and "expected" in result.output


def test_the_cli_refuses_the_development_key_in_production(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KLELINE_ENV", "production")
    result = run(runner, "receipt", "keys")
    assert result.exit_code == 2
    assert "KLELINE_RECEIPT_SIGNING_KEYS: the development receipt signing key is refused" in result.output


def test_a_generated_key_signs_and_is_published(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    generated = run(runner, "receipt", "generate-key", "k7")
    assert generated.exit_code == 0, generated.output
    entry = generated.output.strip()
    assert entry.startswith("k7:")
    monkeypatch.setenv("KLELINE_RECEIPT_SIGNING_KEYS", entry)
    published = json.loads(run(runner, "receipt", "keys").output)
    assert published == SigningKeys.parse(entry).public_keys().to_json()
    assert run(runner, "receipt", "generate-key", "bad id").exit_code == 1


def test_kleline_config_shows_the_receipt_key_ids_only(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    entry = generate_signing_key("k3")
    monkeypatch.setenv("KLELINE_RECEIPT_SIGNING_KEYS", entry)
    result = run(runner, "config")
    assert result.exit_code == 0, result.output
    assert "k3:***" in result.output
    assert entry.partition(":")[2] not in result.output


def test_a_receipt_saved_from_the_service_verifies_with_the_default_keys(
    kleline: Kleline, runner: CliRunner, tmp_path: Path
) -> None:
    signed = issue(kleline, merchant_id="mer_1", customer_id="cus_1", object_id="pay_9")
    file = tmp_path / "receipt.json"
    file.write_text(kleline.receipts.get("pay_9").dumps(), encoding="utf-8")
    result = run(runner, "receipt", "verify", str(file))
    assert result.exit_code == 0, result.output
    assert signed.receipt.receipt_id in result.output


def test_production_refuses_to_serve_with_the_development_receipt_key(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    database = tmp_path / "kleline.db"
    monkeypatch.setenv("KLELINE_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("KLELINE_ENV", "production")
    monkeypatch.setenv("KLELINE_MASTER_KEYS", generate_master_key("m1"))
    monkeypatch.setenv("KLELINE_FINGERPRINT_KEY", base64.b64encode(b"own fingerprint key, 32 bytes!!!").decode())
    result = run(runner, "serve")
    assert result.exit_code == 1
    assert "KLELINE_RECEIPT_SIGNING_KEYS: the development receipt signing key is refused" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not database.exists()  # refused before anything was created or migrated
