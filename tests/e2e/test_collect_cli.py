"""``kleline collect`` end to end, on each backend, through ``KLELINE_DATABASE_URL``."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kleline.bootstrap import build, open_system_accounts
from kleline.cli import app
from kleline.config import load_settings
from kleline.money import Money
from kleline.sepa import read_direct_debits, validate_pain


@pytest.fixture
def runner(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner whose commands find the test database, with plain wide output."""
    monkeypatch.setenv("KLELINE_DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "240")
    return CliRunner()


def direct_debit_top_ups(database_url: str, *amounts: int) -> list[str]:
    """A customer tops up by direct debit once per amount; the collections' ids."""
    kleline = build(load_settings(database_url=database_url))
    try:
        open_system_accounts(kleline)
        ada = kleline.customers.sign_up("ada@example.org", "correct horse battery staple", "Ada Lovelace")
        account = kleline.collections.bank_accounts.register(
            ada.id, "FR7630006000011234567890189", "Ada Lovelace", mandate_accepted=True
        )
        ids = []
        for minor in amounts:
            done = kleline.collections.top_ups.top_up(ada.id, Money(minor, "EUR"), account.id)
            assert done.collection is not None
            ids.append(done.collection.id)
        return ids
    finally:
        kleline.close()


def test_collect_writes_one_pain_008_file_with_every_pending_collection(
    runner: CliRunner, database_url: str, tmp_path: Path
) -> None:
    collection_ids = direct_debit_top_ups(database_url, 1500, 2000)
    out = tmp_path / "collections.xml"
    result = runner.invoke(app, ["collect", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "2 collection(s), 35.00 EUR" in result.output
    assert f"pain.008 file written to {out}" in result.output
    assert validate_pain(out.read_bytes()) == "pain.008.001.02"
    assert sorted(d.end_to_end_id for d in read_direct_debits(out.read_bytes())[1]) == sorted(
        id.replace("dd_", "dd-") for id in collection_ids
    )
    run_id = result.output.split(":")[0]
    again = tmp_path / "again.xml"
    rewritten = runner.invoke(app, ["collect", "--run", run_id, "--out", str(again)])
    assert rewritten.exit_code == 0, rewritten.output
    assert again.read_bytes() == out.read_bytes()
    nothing = runner.invoke(app, ["collect", "--out", str(tmp_path / "empty.xml")])
    assert nothing.exit_code == 0, nothing.output
    assert "0 collection(s)" in nothing.output and "nothing to collect" in nothing.output
    assert not (tmp_path / "empty.xml").exists()


def test_collect_names_an_unknown_run_and_exits_1(runner: CliRunner) -> None:
    result = runner.invoke(app, ["collect", "--run", "cr_unknown"])
    assert result.exit_code == 1
    assert "no collection run cr_unknown" in result.output
