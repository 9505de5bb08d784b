"""A stored statement document is read back within the size it was stored with: content that inflates past it (a
damaged row, or one written by anyone with the database) is refused as damaged without being inflated whole, so
the worker's sweep cannot be made to exhaust its memory by one row."""

from __future__ import annotations

import tracemalloc
import zlib

import pytest

from kleline.bootstrap import Kleline
from kleline.reconciliation.document_store import document
from kleline.reconciliation.errors import StoredDocumentDamaged

from .conftest import World
from .interrupted import interrupt, story

_BOMB_BYTES = 64 * 1024 * 1024


def test_a_stored_document_that_inflates_past_its_size_is_refused_without_inflating_it(
    kleline: Kleline, world: World
) -> None:
    told = story(kleline, world)
    interrupt(kleline, told.document, 1)
    bomb = zlib.compress(b"\0" * _BOMB_BYTES, 9)  # some 64 KiB that inflate to 64 MiB
    with kleline.db.transaction() as tx:
        tx.execute("UPDATE statement_documents SET content = :bomb", {"bomb": bomb})

    tracemalloc.start()
    try:
        with pytest.raises(StoredDocumentDamaged), kleline.db.transaction(write=False) as tx:
            document(tx, told.key)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 8 * 1024 * 1024, f"reading the stored document took {peak} bytes"
