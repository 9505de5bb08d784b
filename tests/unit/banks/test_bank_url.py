"""KLELINE_BANK_URL: the in-process sandbox, or a card network over TCP at iso8583://HOST:PORT; nothing else."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kleline.banks import DatabaseSandboxStore, InProcessTransport, TcpTransport
from kleline.bootstrap import UnsupportedBankUrl, bank_network, check_bank_url
from kleline.clock import system_clock
from kleline.config import load_settings
from kleline.db.engine import Database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """A database that is never opened: building the network connects to nothing."""
    database = Database(f"sqlite:///{tmp_path / 'unopened.db'}")
    yield database
    database.dispose()
    assert not (tmp_path / "unopened.db").exists()


def test_the_sandbox_url_names_the_in_process_issuers_whose_books_are_in_the_database(db: Database) -> None:
    network = bank_network(load_settings(bank_url="sandbox:"), system_clock, db)
    assert isinstance(network.transport, InProcessTransport)
    assert isinstance(network.transport.issuers.store, DatabaseSandboxStore)


def test_an_iso8583_url_names_a_pooled_tcp_link_with_the_configured_size_and_timeout(db: Database) -> None:
    settings = load_settings(bank_url="iso8583://127.0.0.1:8583", bank_pool_size=6, bank_timeout_seconds=2.5)
    transport = bank_network(settings, system_clock, db).transport
    assert isinstance(transport, TcpTransport)
    assert (transport.host, transport.port, transport.pool_size, transport.timeout) == ("127.0.0.1", 8583, 6, 2.5)
    assert transport.opened == 0  # nothing is opened before the first request


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8583",
        "iso8583://127.0.0.1",
        "iso8583://:8583",
        "iso8583://127.0.0.1:99999",
        "iso8583://user:secret@127.0.0.1:8583",
        "iso8583://127.0.0.1:8583/path",
        "",
    ],
)
def test_any_other_bank_url_is_refused_without_repeating_it(url: str, db: Database) -> None:
    with pytest.raises(UnsupportedBankUrl) as refused:
        bank_network(load_settings(bank_url=url), system_clock, db)
    assert "secret" not in refused.value.detail
    with pytest.raises(UnsupportedBankUrl):
        check_bank_url(load_settings(bank_url=url))
