"""Fixtures of the HTTP tests: Kleline on a fresh database with a hand-moved clock, and a client of its API.

A test file that needs Kleline built differently overrides ``kleline``; ``client`` then serves that one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from kleline.api.app import create_app
from kleline.bootstrap import Kleline, build
from kleline.config import load_settings

from ..conftest import FakeClock


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    """Kleline built on a migrated, empty database; closed after the test."""
    system = build(load_settings(database_url=database_url), clock=clock)
    try:
        yield system
    finally:
        system.close()


@pytest.fixture
def client(kleline: Kleline) -> Iterator[TestClient]:
    """An HTTP client of the API, with the app's lifespan running."""
    with TestClient(create_app(kleline)) as test_client:
        yield test_client
