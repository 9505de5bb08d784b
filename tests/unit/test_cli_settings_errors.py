"""A bad ``KLELINE_*`` setting stops any command with one readable line per setting: no traceback, and never the
value given (a mistyped key is still a key)."""

from __future__ import annotations

import sys

import pytest

from kleline.cli import main

SECRET = "k1:not-base64-but-still-a-secret"


def run(monkeypatch: pytest.MonkeyPatch, *argv: str) -> None:
    monkeypatch.setattr(sys, "argv", ["kleline", *argv])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2


def test_a_refused_setting_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KLELINE_ENV", "production")
    monkeypatch.setenv("KLELINE_WEBHOOKS_ALLOW_LOOPBACK", "true")
    run(monkeypatch, "config")
    err = capsys.readouterr().err
    assert "Traceback" not in err and "pydantic" not in err
    [line] = [line for line in err.splitlines() if "KLELINE_WEBHOOKS_ALLOW_LOOPBACK" in line]
    assert line.startswith("error: KLELINE_WEBHOOKS_ALLOW_LOOPBACK: ") and "production" in line


def test_every_bad_setting_is_named_and_no_value_is_repeated(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KLELINE_PORT", "eighty")
    monkeypatch.setenv("KLELINE_PAYOUT_MINIMUM", "0")
    monkeypatch.setenv("KLELINE_ENV", SECRET)  # not a valid environment name: the value must not be echoed
    run(monkeypatch, "config")
    err = capsys.readouterr().err
    for variable in ("KLELINE_PORT", "KLELINE_PAYOUT_MINIMUM", "KLELINE_ENV"):
        assert f"error: {variable}: " in err
    assert "eighty" not in err and SECRET not in err
    assert "Traceback" not in err


def test_a_good_configuration_runs_the_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["kleline", "config"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 0
    assert "KLELINE_DATABASE_URL" in capsys.readouterr().out
