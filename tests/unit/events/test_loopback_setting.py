"""Webhooks to loopback and private addresses are a development convenience that production refuses at start."""

from __future__ import annotations

import pydantic
import pytest

from kleline.config import DEVELOPMENT_MASTER_KEYS, load_settings


def test_production_refuses_the_loopback_allowance_naming_both_variables() -> None:
    with pytest.raises(pydantic.ValidationError) as refused:
        load_settings(env="production", webhooks_allow_loopback=True)
    message = str(refused.value)
    assert "KLELINE_WEBHOOKS_ALLOW_LOOPBACK" in message
    assert "KLELINE_ENV" in message and "production" in message
    assert DEVELOPMENT_MASTER_KEYS not in message  # the error repeats this setting only, never a key


def test_production_refuses_the_loopback_allowance_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KLELINE_ENV", "production")
    monkeypatch.setenv("KLELINE_WEBHOOKS_ALLOW_LOOPBACK", "true")
    with pytest.raises(pydantic.ValidationError, match="KLELINE_WEBHOOKS_ALLOW_LOOPBACK"):
        load_settings()


def test_production_without_the_allowance_loads() -> None:
    assert load_settings(env="production").webhooks_allow_loopback is False


def test_development_may_allow_loopback_webhooks() -> None:
    assert load_settings(env="development", webhooks_allow_loopback=True).webhooks_allow_loopback is True
