"""A command that works on an existing database never creates one: on SQLite, a missing file is a clear error.

Every ``kleline`` command is listed here in one of three groups, and a test walks the command tree, so that a
command added later without being placed fails the suite instead of silently creating ``kleline.db`` files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from kleline.cli import app

# Commands that make the database they are pointed at (they migrate it).
MAKE_A_DATABASE = {"serve", "demo", "db upgrade"}
# Commands that never need Kleline's database (``config`` reads it for a warning when it is there, and never makes it).
NO_DATABASE = {
    "config",
    "keys generate",
    "receipt verify",
    "receipt keys",
    "receipt generate-key",
    "bank serve",
}
# Every other command, with arguments it would accept on a real database.
ON_AN_EXISTING_DATABASE: dict[str, tuple[str, ...]] = {
    "worker": ("--once",),
    "statements": ("mer_1", "--month", "2026-01", "--format", "json"),
    "ledger verify": (),
    "ledger trial-balance": (),
    "ledger export": (),
    "settle": (),
    "collect": (),
    "bank import": ("statement.xml",),
    "bank resolve": ("si_1", "--dismiss", "--note", "Sent back to the payer"),
    "operator create-key": ("--role", "finance"),
    "operator list-keys": (),
    "operator revoke-key": ("1",),
    "audit verify": (),
    "audit list": ("--role", "finance", "--from", "2026-01-01"),
    "customers verify": ("alice@example.com",),
    "customers shred": ("--dry-run",),
    "keys rotate": (),
    "idempotency sweep": (),
    "merchants list": (),
    "merchants approve": ("mer_1",),
    "merchants suspend": ("mer_1",),
    "merchants refuse": ("mer_1", "--reason", "No Kbis extract"),
    "merchants create-key": ("mer_1",),
    "merchants invite": ("mer_1", "ada@example.org", "--role", "accountant"),
    "merchants bank-changes": (),
    "merchants approve-bank-change": ("mer_1", "bac_1"),
    "merchants reject-bank-change": ("mer_1", "bac_1", "--reason", "The account holder is not the shop"),
    "merchants set-commission-rate": ("mer_1", "380"),
    "merchants set-intro-fee-rate": ("mer_1", "800"),
    "malls create": ("A mall", "a-mall"),
    "malls add-merchant": ("mall_1", "mer_1"),
    "payments expire": (),
    "receivables write-off": ("cus_1",),
    "staff create": ("ada@example.org", "--role", "admin"),
    "staff list": (),
    "staff disable": ("ada@example.org",),
    "proposals list": (),
    "proposals show": ("prop_1",),
    "proposals approve": ("prop_1",),
    "proposals reject": ("prop_1", "--reason", "Not this month"),
    "proposals withdraw": ("prop_1",),
}


def _commands(group: Any, prefix: str = "") -> set[str]:
    """Every leaf command under a (Typer's own) click group, as typed after ``kleline``."""
    names: set[str] = set()
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            names |= _commands(command, f"{prefix}{name} ")
        else:
            names.add(f"{prefix}{name}")
    return names


def test_every_command_is_placed_in_exactly_one_group() -> None:
    root = typer.main.get_command(app)
    groups = [MAKE_A_DATABASE, NO_DATABASE, set(ON_AN_EXISTING_DATABASE)]
    assert _commands(root) == set().union(*groups)
    assert sum(len(group) for group in groups) == len(_commands(root))


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("COLUMNS", "400")
    for variable in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(variable, raising=False)
    return CliRunner()


@pytest.mark.parametrize("command", sorted(ON_AN_EXISTING_DATABASE))
def test_a_command_on_a_missing_sqlite_file_fails_clearly_and_creates_nothing(
    command: str, runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "statement.xml").write_text("<Document/>")
    url = f"sqlite:///{tmp_path / 'nowhere' / 'demo.db'}"
    (tmp_path / "nowhere").mkdir()
    monkeypatch.setenv("KLELINE_DATABASE_URL", url)
    before = sorted(tmp_path.rglob("*"))

    result = runner.invoke(app, [*command.split(), *ON_AN_EXISTING_DATABASE[command]])

    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    message = " ".join(result.output.split())
    assert f"cannot open the database {url}: the file" in message
    assert "KLELINE_DATABASE_URL" in message and "kleline db upgrade" in message
    assert sorted(tmp_path.rglob("*")) == before  # no demo.db, no journal, no default kleline.db


def test_a_relative_sqlite_url_is_looked_for_in_the_working_directory(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KLELINE_DATABASE_URL", raising=False)  # the default: sqlite:///kleline.db

    result = runner.invoke(app, ["ledger", "trial-balance"])

    assert result.exit_code == 1, result.output
    assert "cannot open the database sqlite:///kleline.db: the file" in " ".join(result.output.split())
    assert list(tmp_path.iterdir()) == []
