"""``kleline staff`` end to end on each backend: the first admin's invitation printed once, the list, a person
disabled, refusals in one line, and every act in the staff audit trail under the command line's actor."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner, Result

from kleline.bootstrap import build
from kleline.cli import app
from kleline.config import load_settings
from kleline.staff.audit import AuditFilters, search, verify
from kleline.staff.roles import Role

PASSWORD = "correct horse battery staple"


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner whose output is plain text, wide enough that Rich does not wrap tables or messages."""
    monkeypatch.setenv("COLUMNS", "240")
    for variable in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(variable, raising=False)
    return CliRunner()


@pytest.fixture
def cli_database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("KLELINE_DATABASE_URL", database_url)
    monkeypatch.setenv("KLELINE_PUBLIC_URL", "https://kleline.example")
    return database_url


def run(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(app, list(args))


def test_the_first_admin_is_invited_listed_and_another_person_disabled(runner: CliRunner, cli_database: str) -> None:
    made = run(runner, "staff", "create", "Ada@Example.org", "--role", "admin")
    assert made.exit_code == 0, made.output
    link = re.search(r"^https://kleline\.example/console/invitations/(\S+)$", made.output, re.M)
    assert link, made.output
    assert "ada@example.org as admin" in made.output and "shown only this once" in made.output
    assert run(runner, "staff", "create", "bob@example.org", "--role", "finance").exit_code == 0

    kleline = build(load_settings(database_url=cli_database, public_url="https://kleline.example"))
    try:
        session = kleline.staff_team.accept(link.group(1), PASSWORD)
        assert session.user is not None and session.user.role == Role.ADMIN
    finally:
        kleline.close()
    listed = run(runner, "staff", "list")
    assert listed.exit_code == 0, listed.output
    assert re.search(r"ada@example\.org[\s│]+admin[\s│]+active[\s│]+not yet", listed.output), listed.output
    assert re.search(r"bob@example\.org[\s│]+finance", listed.output)  # still an invitation

    refused = run(runner, "staff", "disable", "ada@example.org")
    assert refused.exit_code == 1 and "last admin" in refused.output
    unknown = run(runner, "staff", "disable", "nobody@example.org")
    assert unknown.exit_code == 1 and "no active staff user" in unknown.output
    bad_role = run(runner, "staff", "create", "eve@example.org", "--role", "boss")
    assert bad_role.exit_code == 2 and "choose one of admin, compliance, finance, support" in bad_role.output

    kleline = build(load_settings(database_url=cli_database, public_url="https://kleline.example"))
    try:
        records = search(kleline.db, AuditFilters(actor_kind="cli")).records
        assert [r.action for r in records] == ["staff_invited", "staff_invited"]
        assert all(r.role is None and r.address == "local" for r in records)
        assert verify(kleline.db).ok
    finally:
        kleline.close()


def test_a_person_is_disabled_from_the_command_line(runner: CliRunner, cli_database: str) -> None:
    for email, role in (("ada@example.org", "admin"), ("sam@example.org", "support")):
        output = run(runner, "staff", "create", email, "--role", role).output
        token = output.strip().rsplit("/", 1)[1]
        kleline = build(load_settings(database_url=cli_database))
        try:
            kleline.staff_team.accept(token, PASSWORD)
        finally:
            kleline.close()
    done = run(runner, "staff", "disable", "SAM@example.org")
    assert done.exit_code == 0 and re.search(r"st_\w+ \(sam@example\.org\) is now disabled", done.output)
    assert re.search(r"sam@example\.org[\s│]+support[\s│]+disabled", run(runner, "staff", "list").output)
