"""The command line as a system user, over the test's database: what the tests of acts that a second system user
approves (a commission rate, an introduction fee rate) set up before each command."""

from __future__ import annotations

import pytest

__all__ = ["as_system_user"]


def as_system_user(monkeypatch: pytest.MonkeyPatch, database_url: str, login: str) -> None:
    """Run the next commands on ``database_url`` as system user ``login`` (the command line's actor is the login
    name), with lines wide enough that no message is wrapped."""
    monkeypatch.setenv("KLELINE_DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "240")
    for variable in ("USER", "LNAME", "USERNAME"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("LOGNAME", login)
