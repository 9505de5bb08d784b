"""Settings: the only module that reads the environment (``KLELINE_*`` variables).

Unsafe development defaults are refused when ``KLELINE_ENV=production``, so that a forgotten variable fails the
start rather than running a production system on a published key. The card vault's keys are read here as
``SecretStr`` (masked in every ``repr``, so that printing the settings cannot leak them) and checked where they are
decoded, by the composition root (``kleline.bootstrap``), with the vault's rules.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEVELOPMENT_FINGERPRINT_KEY", "DEVELOPMENT_MASTER_KEYS", "SANDBOX_BANK_URL", "Settings", "load_settings"]

# Published keys (they decode to readable ASCII), so that development runs without configuration; refused in
# production. They live here, at the bottom layer, so that the settings' defaults and the vault (which re-exports
# them as ``kleline.wallet.vault.DEVELOPMENT_*``) share one definition.
DEVELOPMENT_MASTER_KEYS: Final = "dev1:a2xlbGluZS1kZXZlbG9wbWVudC1tYXN0ZXIta2V5ISE="
DEVELOPMENT_FINGERPRINT_KEY: Final = "a2xlbGluZS1kZXZlbG9wbWVudC1maW5nZXJwcmludCE="
SANDBOX_BANK_URL: Final = "sandbox:"


class Settings(BaseSettings):
    """Every ``KLELINE_*`` setting, with its default; ``kleline config`` lists them."""

    model_config = SettingsConfigDict(env_prefix="KLELINE_", extra="ignore", frozen=True)

    env: Literal["development", "production"] = Field(
        "development", description="development or production (production refuses development defaults)"
    )
    database_url: str = Field(
        "sqlite:///kleline.db", description="SQLAlchemy URL; SQLite file (WAL) by default, postgresql+psycopg://..."
    )
    host: str = Field("127.0.0.1", description="address kleline serve listens on")
    port: int = Field(8000, description="port kleline serve listens on")
    chain_shards: int = Field(16, ge=1, le=1024, description="hash chains the journal is split over")
    db_pool_size: int = Field(8, ge=1, description="database connections kept per process")

    customer_token_ttl_seconds: int = Field(3600, ge=60, description="lifetime of a customer token (ct_...)")
    sign_in_lockout_failures: int = Field(10, ge=1, description="failed sign-ins in a row that lock a customer out")
    sign_in_lockout_minutes: int = Field(30, ge=1, description="how long a locked-out customer waits")
    unverified_max_balance: int = Field(15_000, ge=0, description="purse ceiling of an unverified customer (cents)")
    unverified_monthly_top_up: int = Field(
        15_000, ge=0, description="top-ups an unverified customer may make per calendar month (cents)"
    )
    verified_max_balance: int = Field(500_000, ge=0, description="purse ceiling of a verified customer (cents)")
    verified_monthly_top_up: int = Field(
        500_000, ge=0, description="top-ups a verified customer may make per calendar month (cents)"
    )
    sca_single_limit: int = Field(3_000, ge=1, description="largest payment that may skip strong authentication")
    sca_exemption_mode: Literal["cumulative", "count"] = Field(
        "cumulative", description="which counter ends exemptions: cumulated amount or number of payments"
    )
    sca_cumulative_limit: int = Field(
        10_000, ge=1, description="exempt payments allowed in total since the last challenge (cents)"
    )
    sca_max_payments: int = Field(5, ge=1, description="exempt payments allowed in number since the last challenge")

    master_keys: SecretStr = Field(
        SecretStr(DEVELOPMENT_MASTER_KEYS),
        description="card vault master keys 'id:base64(32 bytes),...', the active one first (development keys "
        "by default, refused in production)",
    )
    fingerprint_key: SecretStr = Field(
        SecretStr(DEVELOPMENT_FINGERPRINT_KEY),
        description="key of the card fingerprints that spot a card registered twice, base64 of 32 bytes or more; "
        "never rotated (development key by default, refused in production)",
    )
    bank_url: str = Field(
        SANDBOX_BANK_URL, description="where the card issuers are reached: only 'sandbox:' (in-process) for now"
    )
    public_url: str = Field(
        "http://127.0.0.1:8000", description="the address customers reach Kleline's pages at (checkout links)"
    )
    authorization_ttl_hours: int = Field(
        168, ge=1, description="how long an uncaptured payment authorisation lasts before the sweep releases it"
    )
    # -- merchants (issue 4) --
    # -- idempotency (issue 4) --
    # -- events and webhooks (issue 4) --
    # -- receipts (issue 4) --
    # -- checkout pages (issue 4) --


def load_settings(**overrides: object) -> Settings:
    """Read the environment, with explicit overrides (tests and the CLI pass some)."""
    return Settings(**overrides)  # type: ignore[arg-type]
