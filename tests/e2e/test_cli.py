"""The ``kleline`` command line end to end, on each backend, through ``KLELINE_DATABASE_URL``."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from kleline.bootstrap import build
from kleline.cli import app
from kleline.config import DEVELOPMENT_FINGERPRINT_KEY, DEVELOPMENT_MASTER_KEYS, load_settings
from kleline.db.engine import Database
from kleline.db.migrate import current_revision, head_revision, upgrade
from kleline.ledger import EntryRequest, NormalSide, credit, debit
from kleline.money import Money
from kleline.operators.service import authenticate_actor, list_keys
from kleline.receipts import generate_signing_key
from kleline.staff.audit import AuditFilters, search
from kleline.staff.roles import Role
from kleline.wallet.vault import generate_master_key

from ..conftest import BACKENDS, create_database_url, drop_database
from ..operator_keys import operator_key

CARDS = "card:visa:receivable"
PURSE = "customer:cus_1:purse"


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner whose output is plain text, wide enough that Rich does not wrap tables or messages."""
    monkeypatch.setenv("COLUMNS", "240")
    for variable in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(variable, raising=False)
    return CliRunner()


@pytest.fixture
def cli_database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A migrated, empty database that the CLI finds through ``KLELINE_DATABASE_URL``."""
    monkeypatch.setenv("KLELINE_DATABASE_URL", database_url)
    return database_url


@pytest.fixture(params=BACKENDS)
def empty_database_url(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A database without any schema on each backend, that the CLI finds through ``KLELINE_DATABASE_URL``."""
    url, name = create_database_url(request.param, tmp_path)
    monkeypatch.setenv("KLELINE_DATABASE_URL", url)
    try:
        yield url
    finally:
        drop_database(name)


def run(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(app, list(args))


def post_top_ups(url: str, *amounts: int) -> list[str]:
    """Open a card receivable and a purse, post one top-up per amount (EUR cents); the entry ids, in order."""
    kleline = build(load_settings(database_url=url))
    try:
        kleline.ledger.open_account(CARDS, "EUR", NormalSide.DEBIT)
        kleline.ledger.open_account(PURSE, "EUR", NormalSide.CREDIT, floor=0)
        ids = []
        for i, minor in enumerate(amounts):
            money = Money(minor, "EUR")
            entry_id = f"ent_top_up_{i}"
            kleline.ledger.post(EntryRequest(entry_id, (debit(CARDS, money), credit(PURSE, money)), f"top-up {i}"))
            ids.append(entry_id)
        return ids
    finally:
        kleline.close()


def edit_description_as_an_attacker(url: str, entry_id: str) -> None:
    """Rewrite an entry's description behind the ledger's back, as someone with database access could."""
    db = Database(url)
    try:
        with db.transaction() as tx:
            params = {"id": entry_id}
            update = "UPDATE ledger_entries SET description = 'x' WHERE id = :id"
            if db.is_postgres:
                tx.execute("SET LOCAL session_replication_role = replica")  # triggers off, for this transaction
                tx.execute(update, params)
            else:
                (trigger,) = tx.fetchone(
                    "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'ledger_entries_no_update'"
                )
                tx.execute("DROP TRIGGER ledger_entries_no_update")
                tx.execute(update, params)
                tx.execute(trigger)
    finally:
        db.dispose()


# --- db upgrade ---------------------------------------------------------------------------------------------------


def test_db_upgrade_prints_the_revision(runner: CliRunner, cli_database: str) -> None:
    result = run(runner, "db", "upgrade")
    assert result.exit_code == 0, result.output
    assert f"database at revision {head_revision()}" in result.output


def test_db_upgrade_migrates_an_empty_database(runner: CliRunner, empty_database_url: str) -> None:
    result = run(runner, "db", "upgrade")
    assert result.exit_code == 0, result.output
    assert f"database at revision {head_revision()}" in result.output
    db = Database(empty_database_url)
    try:
        assert current_revision(db) == head_revision()
    finally:
        db.dispose()


# --- operator keys ------------------------------------------------------------------------------------------------


def test_operator_create_key_prints_one_key_that_acts_in_its_role(runner: CliRunner, cli_database: str) -> None:
    result = run(runner, "operator", "create-key", "--label", "ops team", "--role", "Finance")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1
    (secret,) = lines
    assert secret.startswith("op_")
    db = Database(cli_database)
    try:
        actor = authenticate_actor(db, secret)
        with db.transaction(write=False) as tx:
            (label,) = tx.fetchone("SELECT label FROM operator_keys WHERE id = :id", {"id": int(actor.id)})
        assert (label, actor.role) == ("ops team", Role.FINANCE)
        (made,) = search(db, AuditFilters(action="operator_key_created")).records
        assert (made.actor_kind, made.role, made.subject_id) == ("cli", None, actor.id)
        assert made.after == {"label": "ops team", "role": "finance"}
    finally:
        db.dispose()


def test_operator_create_key_prints_a_new_key_each_time(runner: CliRunner, cli_database: str) -> None:
    first = run(runner, "operator", "create-key", "--role", "support")
    second = run(runner, "operator", "create-key", "--role", "support")
    assert first.exit_code == second.exit_code == 0
    assert first.output.strip() != second.output.strip()


@pytest.mark.parametrize("role", [(), ("--role", "auditor")])
def test_operator_create_key_wants_a_role_and_names_them(
    runner: CliRunner, cli_database: str, role: tuple[str, ...]
) -> None:
    result = run(runner, "operator", "create-key", *role)
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert "admin, compliance, finance, support" in message
    assert "op_" not in result.output


def test_operator_keys_are_listed_and_revoked_and_config_names_those_without_a_role(
    runner: CliRunner, cli_database: str
) -> None:
    db = Database(cli_database)
    try:
        operator_key(db, None, "from before roles")
        kept = operator_key(db, Role.ADMIN, "admin robot")
        assert "1 operator key made before roles keep every power" in " ".join(run(runner, "config").output.split())
        listing = run(runner, "operator", "list-keys")
        assert listing.exit_code == 0, listing.output
        assert "from before roles" in listing.output and "every power" in listing.output
        (legacy,) = [str(key.id) for key in list_keys(db) if key.role is None]
        revoked = run(runner, "operator", "revoke-key", legacy)
        assert revoked.exit_code == 0, revoked.output
        assert "made before roles" not in run(runner, "config").output
        assert "from before roles" not in run(runner, "operator", "list-keys").output
        assert run(runner, "operator", "revoke-key", legacy).exit_code == 1  # no live key with that number
        assert authenticate_actor(db, kept).role == Role.ADMIN
        (revocation,) = search(db, AuditFilters(action="operator_key_revoked")).records
        assert (revocation.actor_kind, revocation.subject_id) == ("cli", legacy)
        assert revocation.actor_id != "tests"  # the command line's own user, not the tests' helper
    finally:
        db.dispose()


# --- ledger verify ------------------------------------------------------------------------------------------------


def test_ledger_verify_passes_on_empty_books(runner: CliRunner, cli_database: str) -> None:
    result = run(runner, "ledger", "verify")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok")


def test_ledger_verify_passes_on_clean_books(runner: CliRunner, cli_database: str) -> None:
    post_top_ups(cli_database, 1_000, 250, 75)
    result = run(runner, "ledger", "verify")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok")
    assert "3 entries" in result.output


def test_ledger_verify_names_an_edited_entry_and_exits_1(runner: CliRunner, cli_database: str) -> None:
    ids = post_top_ups(cli_database, 1_000, 250, 75, 40)
    edit_description_as_an_attacker(cli_database, ids[2])

    result = run(runner, "ledger", "verify")

    assert result.exit_code == 1, result.output
    assert f"entry {ids[2]}: content does not match its hash" in result.output
    for untouched in (ids[0], ids[1], ids[3]):
        assert untouched not in result.output
    assert "ok" not in result.output.split()
    assert "Traceback" not in result.output


# --- ledger trial-balance -----------------------------------------------------------------------------------------


def test_ledger_trial_balance_prints_each_currency(runner: CliRunner, cli_database: str) -> None:
    post_top_ups(cli_database, 1_000, 250)
    result = run(runner, "ledger", "trial-balance")
    assert result.exit_code == 0, result.output
    assert "EUR" in result.output
    assert "12.50 EUR" in result.output
    assert PURSE in result.output and CARDS in result.output
    assert "yes" in result.output


def test_ledger_trial_balance_without_accounts_lists_only_the_totals(runner: CliRunner, cli_database: str) -> None:
    post_top_ups(cli_database, 1_000)
    result = run(runner, "ledger", "trial-balance", "--no-accounts")
    assert result.exit_code == 0, result.output
    assert "10.00 EUR" in result.output
    assert PURSE not in result.output


# --- config -------------------------------------------------------------------------------------------------------


def test_config_lists_the_database_url(runner: CliRunner, cli_database: str) -> None:
    result = run(runner, "config")
    assert result.exit_code == 0, result.output
    assert "KLELINE_DATABASE_URL" in result.output
    assert "KLELINE_ENV" in result.output
    assert cli_database in result.output


# --- schema out of date -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command", [("ledger", "verify"), ("ledger", "trial-balance"), ("operator", "create-key", "--role", "admin")]
)
def test_a_database_at_an_older_schema_is_refused_with_a_readable_message(
    runner: CliRunner, empty_database_url: str, command: tuple[str, ...]
) -> None:
    db = Database(empty_database_url)
    try:
        upgrade(db, "0001")
    finally:
        db.dispose()

    result = run(runner, *command)

    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit)
    assert "kleline db upgrade" in result.output
    assert "0001" in result.output
    assert "Traceback" not in result.output


def test_db_upgrade_brings_an_older_schema_up_to_date(runner: CliRunner, empty_database_url: str) -> None:
    db = Database(empty_database_url)
    try:
        upgrade(db, "0001")
    finally:
        db.dispose()

    upgraded = run(runner, "db", "upgrade")
    verified = run(runner, "ledger", "verify")

    assert upgraded.exit_code == 0, upgraded.output
    assert f"database at revision {head_revision()}" in upgraded.output
    assert verified.exit_code == 0, verified.output


@pytest.mark.parametrize("url", ["mysql://somewhere/db", "sqlite:////no/such/folder/kleline.db"])
def test_an_unusable_database_url_gets_a_readable_message(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("KLELINE_DATABASE_URL", url)
    result = runner.invoke(app, ["ledger", "verify"])
    assert result.exit_code == 1
    assert "cannot open the database" in result.output
    assert "Traceback" not in result.output


def test_config_hides_the_database_password(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KLELINE_DATABASE_URL", "postgresql://kleline:hunter2@db.example/kleline")
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 0
    assert "hunter2" not in result.output


# --- vault keys and the bank in the settings ------------------------------------------------------------------------


def _own_fingerprint_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def test_config_shows_key_ids_but_never_the_keys(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    k2, k1, fingerprint_key = generate_master_key("k2"), generate_master_key("k1"), _own_fingerprint_key()
    monkeypatch.setenv("KLELINE_MASTER_KEYS", f"{k2},{k1}")
    monkeypatch.setenv("KLELINE_FINGERPRINT_KEY", fingerprint_key)

    result = run(runner, "config")

    assert result.exit_code == 0, result.output
    assert "k2:***,k1:***" in result.output
    for secret in (k2.partition(":")[2], k1.partition(":")[2], fingerprint_key):
        assert secret not in result.output
    assert "KLELINE_BANK_URL" in result.output
    assert "sandbox:" in result.output


def test_config_says_when_development_keys_are_in_use(runner: CliRunner) -> None:
    result = run(runner, "config")
    assert result.exit_code == 0, result.output
    assert "(development keys)" in result.output
    assert "(development key)" in result.output
    assert DEVELOPMENT_MASTER_KEYS.partition(":")[2] not in result.output
    assert DEVELOPMENT_FINGERPRINT_KEY not in result.output


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({}, "KLELINE_MASTER_KEYS: the development master key is refused when env is 'production'"),
        ({"KLELINE_MASTER_KEYS": "own"}, "KLELINE_FINGERPRINT_KEY: the development fingerprint key is refused"),
    ],
)
def test_production_refuses_development_keys_at_start_in_one_line(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variables: dict[str, str], message: str
) -> None:
    database = tmp_path / "kleline.db"
    monkeypatch.setenv("KLELINE_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("KLELINE_ENV", "production")
    for name, value in variables.items():
        monkeypatch.setenv(name, generate_master_key("k1") if value == "own" else value)

    result = run(runner, "serve")

    assert result.exit_code == 1
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert not database.exists()  # refused before anything was created or migrated


def test_production_accepts_its_own_keys(runner: CliRunner, cli_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KLELINE_ENV", "production")
    monkeypatch.setenv("KLELINE_MASTER_KEYS", generate_master_key("k1"))
    monkeypatch.setenv("KLELINE_FINGERPRINT_KEY", _own_fingerprint_key())
    monkeypatch.setenv("KLELINE_RECEIPT_SIGNING_KEYS", generate_signing_key("r1"))
    monkeypatch.setenv("KLELINE_PSEUDONYM_KEY", _own_fingerprint_key())
    monkeypatch.setenv("KLELINE_CUSTOMER_INDEX_KEY", _own_fingerprint_key())
    result = run(runner, "operator", "create-key", "--role", "support")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("op_")


@pytest.mark.parametrize(
    ("variable", "value", "message", "secret"),
    [
        ("KLELINE_BANK_URL", "tcp://kleline:s3cr3t@bank.example:8583", "KLELINE_BANK_URL: only 'sandbox:'", "s3cr3t"),
        ("KLELINE_MASTER_KEYS", "a2xlbGluZS1zZWNyZXQta2V5LWJ1dC1ub3QtYW4taWQ=", "KLELINE_MASTER_KEYS:", "a2xlbGlu"),
        ("KLELINE_FINGERPRINT_KEY", "dG9vIHNob3J0", "KLELINE_FINGERPRINT_KEY: ", "dG9vIHNob3J0"),
        ("KLELINE_CUSTOMER_INDEX_KEY", "dG9vIHNob3J0", "KLELINE_CUSTOMER_INDEX_KEY: ", "dG9vIHNob3J0"),
    ],
)
def test_unusable_settings_are_refused_with_a_readable_message_that_repeats_no_secret(
    runner: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    variable: str,
    value: str,
    message: str,
    secret: str,
) -> None:
    monkeypatch.setenv("KLELINE_DATABASE_URL", f"sqlite:///{tmp_path / 'kleline.db'}")
    monkeypatch.setenv(variable, value)
    for command in (("serve",), ("ledger", "verify")):
        result = run(runner, *command)
        assert result.exit_code == 1
        assert message in result.output
        assert secret not in result.output
        assert "Traceback" not in result.output


def test_keys_generate_prints_a_new_master_key_entry(runner: CliRunner) -> None:
    result = run(runner, "keys", "generate", "k3")
    assert result.exit_code == 0, result.output
    key_id, _, encoded = result.output.strip().partition(":")
    assert key_id == "k3"
    assert len(base64.b64decode(encoded, validate=True)) == 32
    assert run(runner, "keys", "generate", "no:colons").exit_code == 1


def test_payments_expire_lists_the_released_authorisations(runner: CliRunner, cli_database: str) -> None:
    result = run(runner, "payments", "expire")
    assert result.exit_code == 0, result.output
    assert "0 authorisation(s) released" in result.output
