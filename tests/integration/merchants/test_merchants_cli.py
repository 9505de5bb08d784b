"""``kleline merchants`` and ``kleline malls`` on each backend, through ``KLELINE_DATABASE_URL``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner, Result

from kleline.bootstrap import Kleline, build
from kleline.cli import app
from kleline.cli.common import console
from kleline.config import load_settings


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """Plain output, wide enough that Rich does not wrap table rows."""
    monkeypatch.setenv("COLUMNS", "240")
    for variable in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(variable, raising=False)
    return CliRunner()


@pytest.fixture
def kleline(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Kleline]:
    """Kleline on the database the CLI finds through ``KLELINE_DATABASE_URL``."""
    monkeypatch.setenv("KLELINE_DATABASE_URL", database_url)
    system = build(load_settings(database_url=database_url))
    try:
        yield system
    finally:
        system.close()


def run(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(app, list(args))


def register(kleline: Kleline, name: str = "Librairie [du] Bac") -> str:
    merchant, _ = kleline.merchants.register(name=name, email="shop@example.org", iban="FR1420041010050500013M02606")
    return merchant.id


def test_an_operator_approves_suspends_and_reactivates_a_merchant(runner: CliRunner, kleline: Kleline) -> None:
    merchant_id = register(kleline)
    listed = run(runner, "merchants", "list", "--status", "pending")
    assert listed.exit_code == 0, listed.output
    assert merchant_id in listed.output and "Librairie [du] Bac" in listed.output
    approved = run(runner, "merchants", "approve", merchant_id)
    assert approved.exit_code == 0, approved.output
    assert approved.output.strip() == f"{merchant_id} (Librairie [du] Bac) is now active"
    assert kleline.ledger.account(f"merchant:{merchant_id}:balance").floor == 0
    assert merchant_id not in run(runner, "merchants", "list", "--status", "pending").output
    assert run(runner, "merchants", "suspend", merchant_id).output.strip().endswith("is now suspended")
    refused = run(runner, "merchants", "suspend", merchant_id)
    assert refused.exit_code == 1
    assert "only an active merchant can be suspended" in refused.output
    assert run(runner, "merchants", "approve", merchant_id).exit_code == 0
    assert kleline.merchants.get(merchant_id).status == "active"


def test_unknown_merchants_and_statuses_are_reported(runner: CliRunner, kleline: Kleline) -> None:
    result = run(runner, "merchants", "approve", "mer_unknown")
    assert (result.exit_code, "no merchant mer_unknown" in result.output) == (1, True)
    result = run(runner, "merchants", "list", "--status", "closed")
    assert result.exit_code == 1 and "status" in result.output


def test_an_operator_creates_a_key_for_a_merchant(runner: CliRunner, kleline: Kleline) -> None:
    merchant_id = register(kleline)
    result = run(runner, "merchants", "create-key", merchant_id)
    assert result.exit_code == 0, result.output
    secret = result.output.strip()
    assert secret.startswith("sk_")
    assert kleline.merchants.authenticate(secret) == merchant_id
    assert run(runner, "merchants", "create-key", "mer_unknown").exit_code == 1


def test_an_operator_creates_a_mall_and_fills_it(runner: CliRunner, kleline: Kleline) -> None:
    created = run(runner, "malls", "create", "Galerie du Bac", "galerie-du-bac")
    assert created.exit_code == 0, created.output
    mall_id = created.output.strip()
    assert mall_id.startswith("mall_")
    merchant_id = register(kleline)
    added = run(runner, "malls", "add-merchant", mall_id, merchant_id)
    assert added.exit_code == 0, added.output
    assert added.output.strip() == "Galerie du Bac (galerie-du-bac) now has 1 merchant(s)"
    assert kleline.malls.get(mall_id).merchant_ids == (merchant_id,)
    taken = run(runner, "malls", "create", "Other", "galerie-du-bac")
    assert taken.exit_code == 1 and "another mall is already at 'galerie-du-bac'" in taken.output
    assert run(runner, "malls", "add-merchant", "mall_unknown", merchant_id).exit_code == 1


def test_an_operator_invites_a_person_to_a_merchants_dashboard(runner: CliRunner, kleline: Kleline) -> None:
    merchant_id = register(kleline)
    result = run(runner, "merchants", "invite", merchant_id, "Ada@Example.org", "--role", "owner")
    assert result.exit_code == 0, result.output
    link = result.output.strip()
    assert link.startswith(f"{kleline.settings.public_url.rstrip('/')}/dashboard/invitations/")
    invitation = kleline.merchant_users.invitation(link.rsplit("/", 1)[1])
    assert (invitation.merchant_id, invitation.email, invitation.role) == (merchant_id, "ada@example.org", "owner")
    assert invitation.invited_by is None  # an operator's

    support = run(
        runner, "merchants", "invite", merchant_id, "help@example.org", "--role", "support", "--refund-limit", "50"
    )
    assert support.exit_code == 0, support.output
    assert kleline.merchant_users.invitation(support.output.strip().rsplit("/", 1)[1]).refund_limit == 5000


def test_an_invitation_the_cli_cannot_make_is_told_in_one_line(runner: CliRunner, kleline: Kleline) -> None:
    merchant_id = register(kleline)
    for args, said in (
        (("mer_unknown", "ada@example.org", "--role", "owner"), "no merchant mer_unknown"),
        ((merchant_id, "ada@example.org", "--role", "boss"), "role: one of owner, accountant, support"),
        ((merchant_id, "not-an-address", "--role", "owner"), "email"),
        ((merchant_id, "ada@example.org", "--role", "support", "--refund-limit", "12.345"), "--refund-limit"),
        ((merchant_id, "ada@example.org", "--role", "owner", "--refund-limit", "10"), "only a support user"),
    ):
        result = run(runner, "merchants", "invite", *args)
        assert result.exit_code == 1, (args, result.output)
        assert said in result.output, (args, result.output)
    missing = run(runner, "merchants", "invite", merchant_id, "ada@example.org")
    assert missing.exit_code == 2 and "--role" in missing.output


def test_an_operator_refuses_an_application_saying_why(runner: CliRunner, kleline: Kleline) -> None:
    merchant_id = register(kleline)
    missing = run(runner, "merchants", "refuse", merchant_id)
    assert missing.exit_code == 2 and "--reason" in missing.output  # a refusal always says why
    blank = run(runner, "merchants", "refuse", merchant_id, "--reason", "  ")
    assert blank.exit_code == 1 and "reason" in blank.output
    assert kleline.merchants.get(merchant_id).status == "pending"
    refused = run(runner, "merchants", "refuse", merchant_id, "--reason", "No Kbis [extract] sent")
    assert refused.exit_code == 0, refused.output
    assert refused.output.strip() == f"{merchant_id} (Librairie [du] Bac) is now refused"
    merchant = kleline.merchants.get(merchant_id)
    assert (merchant.status, merchant.status_reason) == ("refused", "No Kbis [extract] sent")
    listed = run(runner, "merchants", "list", "--status", "refused")
    assert merchant_id in listed.output and "No Kbis [extract] sent" in listed.output
    again = run(runner, "merchants", "refuse", merchant_id, "--reason", "Still no Kbis")
    assert again.exit_code == 1 and "only a pending merchant can be refused" in again.output
    assert run(runner, "merchants", "refuse", "mer_unknown", "--reason", "No").exit_code == 1


def test_an_operator_suspends_a_merchant_with_or_without_a_reason(runner: CliRunner, kleline: Kleline) -> None:
    merchant_id = register(kleline)
    run(runner, "merchants", "approve", merchant_id)
    suspended = run(runner, "merchants", "suspend", merchant_id, "--reason", "Unusual refund rate")
    assert suspended.exit_code == 0, suspended.output
    assert kleline.merchants.get(merchant_id).status_reason == "Unusual refund rate"
    run(runner, "merchants", "approve", merchant_id)
    assert kleline.merchants.get(merchant_id).status_reason is None
    assert run(runner, "merchants", "suspend", merchant_id).exit_code == 0
    assert kleline.merchants.get(merchant_id).status_reason is None


def test_a_narrow_terminal_gets_each_merchant_as_a_record_with_its_whole_id(
    runner: CliRunner, kleline: Kleline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 80 columns the table would cut the id to ``mer_c906…``, which ``merchants approve`` cannot take."""
    merchant_id = register(kleline, name="Épicerie Fine Durand")
    monkeypatch.setattr(console, "_width", 80)  # the terminal's width, read once when the console was made
    listed = run(runner, "merchants", "list", "--status", "pending")
    assert listed.exit_code == 0, listed.output
    assert "…" not in listed.output
    lines = [line.rstrip() for line in listed.output.splitlines()]
    assert f"id         {merchant_id}" in lines
    assert "name       Épicerie Fine Durand" in lines
    assert "email      shop@example.org" in lines
    assert max(len(line) for line in lines) <= 80
    monkeypatch.setattr(console, "_width", 240)
    wide = run(runner, "merchants", "list", "--status", "pending").output
    assert "┃ id" in wide and merchant_id in wide  # a table again where it fits
