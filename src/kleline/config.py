"""Settings: the only module that reads the environment (``KLELINE_*`` variables).

Unsafe development defaults are refused when ``KLELINE_ENV=production``, so that a forgotten variable fails the
start rather than running a production system on a published key.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
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

    @model_validator(mode="after")
    def _refuse_sqlite_memory_in_production(self) -> Settings:
        if self.env == "production" and self.database_url.startswith("sqlite://") and ":memory:" in self.database_url:
            raise ValueError("an in-memory database is refused in production")
        return self


def load_settings(**overrides: object) -> Settings:
    """Read the environment, with explicit overrides (tests and the CLI pass some)."""
    return Settings(**overrides)  # type: ignore[arg-type]
