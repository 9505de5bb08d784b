"""Settings: the only module that reads the environment (``KLELINE_*`` variables).

Unsafe development defaults are refused when ``KLELINE_ENV=production``, so that a forgotten variable fails the
start rather than running a production system on a published key.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "load_settings"]


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


def load_settings(**overrides: object) -> Settings:
    """Read the environment, with explicit overrides (tests and the CLI pass some)."""
    return Settings(**overrides)  # type: ignore[arg-type]
