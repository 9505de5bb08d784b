"""``GET /health/live``: the process answers, without the database (a liveness probe; the API bench's reference)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

from kleline.bootstrap import Kleline


def test_live_answers_a_static_ok(client: TestClient) -> None:
    response = client.get("/health/live")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "ok"}


def test_live_answers_while_the_database_is_unreachable(
    kleline: Kleline, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    @contextmanager
    def unreachable(*, write: bool = True) -> Iterator[None]:
        raise ConnectionError("the database is down")
        yield

    monkeypatch.setattr(kleline.db, "transaction", unreachable)
    with pytest.raises(ConnectionError):
        client.get("/health")  # the readiness check does need the database
    assert client.get("/health/live").json() == {"status": "ok"}
