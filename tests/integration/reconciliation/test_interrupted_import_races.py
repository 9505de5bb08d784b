"""An interrupted import met by several finishers at once (two workers, a worker and the file imported again, a
sweep itself cut off): each line booked once, whoever books it, and a finisher at work left alone."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from kleline.bootstrap import Kleline
from kleline.db.engine import RawTx
from kleline.reconciliation import document_store
from kleline.worker.sweeps import STALLED_AFTER

from ...conftest import FakeClock
from ...operator_keys import OPERATOR
from .conftest import World
from .interrupted import Crash, check_finished, check_interrupted, check_settled_for_good, interrupt, stopping, story


def test_two_workers_finish_an_interrupted_import_once(
    kleline: Kleline, world: World, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    told = story(kleline, world)
    interrupt(kleline, told.document, 1)
    clock.advance(minutes=3)
    both_looked = threading.Barrier(2, timeout=30)
    look = document_store.interrupted_imports

    def look_together(tx: RawTx, before: int, limit: int) -> list[str]:
        found = look(tx, before, limit)
        both_looked.wait()  # each worker has found the import before either takes it up
        return found

    monkeypatch.setattr(document_store, "interrupted_imports", look_together)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _: kleline.reconciliation.finish_interrupted(STALLED_AFTER), range(2)))

    monkeypatch.undo()
    assert sorted(results) == [[], [told.key]]
    check_finished(kleline, told)
    check_settled_for_good(kleline, told)


def test_a_worker_and_a_reimport_at_once_book_each_line_once(kleline: Kleline, world: World, clock: FakeClock) -> None:
    told = story(kleline, world)
    interrupt(kleline, told.document, 0)
    clock.advance(minutes=3)

    with ThreadPoolExecutor(max_workers=2) as pool:
        swept = pool.submit(kleline.reconciliation.finish_interrupted, STALLED_AFTER)
        imported = pool.submit(kleline.reconciliation.import_document, told.document, actor=OPERATOR)
        assert swept.result() in ([], [told.key])
        assert not imported.result().replayed or swept.result() == [told.key]

    check_finished(kleline, told)
    check_settled_for_good(kleline, told)


def test_a_sweep_interrupted_in_turn_is_finished_by_a_later_sweep(
    kleline: Kleline, world: World, clock: FakeClock
) -> None:
    told = story(kleline, world)
    interrupt(kleline, told.document, 1)
    clock.advance(minutes=3)

    with pytest.raises(Crash):
        stopping(kleline, 3).finish_interrupted(STALLED_AFTER)  # lines 0 and 1 skipped, 2 and 3 booked

    check_interrupted(kleline, told.key, 4)
    assert kleline.reconciliation.finish_interrupted(STALLED_AFTER) == []  # just taken up: maybe at work still
    clock.advance(minutes=3)
    assert kleline.reconciliation.finish_interrupted(STALLED_AFTER) == [told.key]
    check_finished(kleline, told)


def test_an_import_its_file_took_up_again_is_left_alone_while_it_books_lines(
    kleline: Kleline, world: World, clock: FakeClock
) -> None:
    told = story(kleline, world)
    interrupt(kleline, told.document, 0)
    clock.advance(minutes=3)

    interrupt(kleline, told.document, 2)  # the file again: lines 1 and 2 booked just now, then cut off again

    assert kleline.reconciliation.finish_interrupted(STALLED_AFTER) == []  # its last line is too recent
    clock.advance(minutes=3)
    assert kleline.reconciliation.finish_interrupted(STALLED_AFTER) == [told.key]
    check_finished(kleline, told)
