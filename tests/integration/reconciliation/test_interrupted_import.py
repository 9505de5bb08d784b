"""An import interrupted half-way (the process killed between two lines) is finished by the worker from the stored
document, with nobody importing the file again: every line booked once, as an uninterrupted import books it; an
import that completed is never touched."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from kleline.bootstrap import Kleline
from kleline.reconciliation.document_store import document
from kleline.reconciliation.identity import statement_key
from kleline.worker.runner import Worker
from kleline.worker.sweeps import STALLED_AFTER, SWEEPS

from ...conftest import FakeClock
from ...operator_keys import OPERATOR
from ..helpers import count_rows
from .conftest import SUSPENSE, World, balance, balanced, credit, statement
from .handmade import camt053_v08, entry
from .interrupted import (
    check_finished,
    check_interrupted,
    check_settled_for_good,
    interrupt,
    rows,
    story,
)

ROOT = Path(__file__).resolve().parents[3]


def import_until_killed(url: str, document: bytes, stop: int, clock: FakeClock, tmp_path: Path) -> str:
    """Import ``document`` in a child process, SIGKILLed once line ``stop`` is committed; where it stopped."""
    path = tmp_path / "statement.xml"
    path.write_bytes(document)
    command = [
        sys.executable,
        "-m",
        "tests.integration.reconciliation.import_and_wait",
        url,
        str(path),
        str(stop),
        clock().isoformat(),
    ]
    log = tmp_path / "child.err"
    with (
        log.open("w") as errors,
        subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=errors, text=True) as child,
    ):
        watchdog = threading.Timer(120, child.kill)
        watchdog.start()
        try:
            assert child.stdout is not None
            said = child.stdout.readline().strip()
            child.kill()
        finally:
            watchdog.cancel()
    assert said, f"the child said nothing: {log.read_text()}"
    return said


@pytest.mark.parametrize("stop", [0, 2, 4])
def test_an_import_killed_after_a_line_is_finished_by_the_sweep_each_line_booked_once(
    kleline: Kleline, world: World, database_url: str, clock: FakeClock, tmp_path: Path, stop: int
) -> None:
    told = story(kleline, world)

    assert import_until_killed(database_url, told.document, stop, clock, tmp_path) == f"stopped {stop}"

    check_interrupted(kleline, told.key, stop + 1)
    assert kleline.reconciliation.finish_interrupted(STALLED_AFTER) == []  # it might still be running
    clock.advance(minutes=3)
    assert kleline.reconciliation.finish_interrupted(STALLED_AFTER) == [told.key]
    check_finished(kleline, told)
    check_settled_for_good(kleline, told)


def test_a_complete_import_is_never_touched_by_the_sweep(kleline: Kleline, world: World, clock: FakeClock) -> None:
    told = story(kleline, world)
    kleline.reconciliation.import_document(told.document, actor=OPERATOR)
    before = rows(kleline)

    clock.advance(days=3)

    assert kleline.reconciliation.finish_interrupted(STALLED_AFTER) == []
    assert rows(kleline) == before
    with kleline.db.transaction(write=False) as tx:
        assert tx.fetchall("SELECT resumed_at FROM bank_statement_imports") == [(None,)]


def test_the_document_is_kept_once_as_received(kleline: Kleline, world: World, clock: FakeClock) -> None:
    told = story(kleline, world)
    interrupt(kleline, told.document, 1)
    kleline.reconciliation.import_document(told.document, actor=OPERATOR)
    kleline.reconciliation.import_document(told.document, actor=OPERATOR)

    with kleline.db.transaction(write=False) as tx:
        assert document(tx, told.key) == told.document
        (stored,) = tx.fetchall("SELECT size, content FROM statement_documents")
    assert stored[0] == len(told.document) > len(bytes(stored[1]))  # compressed
    check_finished(kleline, told)


def test_every_statement_of_a_document_is_recorded_before_any_line_so_the_sweep_finishes_them_all(
    kleline: Kleline, clock: FakeClock
) -> None:
    iban = kleline.own_account.iban
    document = camt053_v08(
        iban,
        [entry("X-1", "10.00", "CRDT", e2e="NOBODY-1"), entry("X-2", "20.00", "CRDT", e2e="NOBODY-2")],
        extra_statements=[("STMT-B", [entry("Y-1", "5.00", "CRDT", e2e="NOBODY-3")])],
    )
    interrupt(kleline, document, 0)  # in the first statement's first line
    assert [s.completed_at for s in kleline.reconciliation.statements()[0]] == [None, None]
    clock.advance(minutes=3)

    finished = kleline.reconciliation.finish_interrupted(STALLED_AFTER)

    assert sorted(finished) == sorted(statement_key(iban, s) for s in ("STMT-1", "STMT-B"))
    assert all(s.completed_at is not None for s in kleline.reconciliation.statements()[0])
    assert count_rows(kleline.db, "suspense_items") == 3
    assert balance(kleline, SUSPENSE) == 3_500
    balanced(kleline)


def test_a_statement_recorded_without_its_document_waits_for_its_file_which_is_then_kept(
    kleline: Kleline, world: World, clock: FakeClock
) -> None:
    told = story(kleline, world)
    interrupt(kleline, told.document, 1)
    with kleline.db.transaction() as tx:  # as a statement recorded before documents were kept
        tx.execute("DELETE FROM bank_statement_imports")
        tx.execute("DELETE FROM statement_documents")
    clock.advance(minutes=3)
    assert kleline.reconciliation.finish_interrupted(STALLED_AFTER) == []

    interrupt(kleline, told.document, 2)  # importing the file again is interrupted too, but keeps the document
    clock.advance(minutes=3)

    assert kleline.reconciliation.finish_interrupted(STALLED_AFTER) == [told.key]
    check_finished(kleline, told)


def test_a_damaged_document_is_logged_and_does_not_hold_up_the_others(
    kleline: Kleline, world: World, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    told = story(kleline, world)
    interrupt(kleline, told.document, 1)
    other = statement(kleline, credit("NTRY-Z", 7, "NOBODY"), statement_id="STMT-2")
    clock.advance(seconds=1)
    interrupt(kleline, other, 0)
    with kleline.db.transaction() as tx:
        damaged = {"junk": b"junk", "size": len(told.document)}
        tx.execute("UPDATE statement_documents SET content = :junk WHERE size = :size", damaged)
    clock.advance(minutes=3)

    with caplog.at_level(logging.ERROR, logger="kleline.reconciliation.service"):
        finished = kleline.reconciliation.finish_interrupted(STALLED_AFTER)

    assert finished == [statement_key(kleline.own_account.iban, "STMT-2")]
    assert f"bank statement {told.key} cannot be finished" in caplog.text
    assert kleline.reconciliation.statement(told.key).completed_at is None
    assert (
        kleline.reconciliation.import_document(told.document, actor=OPERATOR).matched == 4
    )  # its file still finishes it


def test_the_worker_runs_the_statement_sweep(kleline: Kleline, world: World, clock: FakeClock) -> None:
    (sweep,) = [sweep for sweep in SWEEPS if sweep.name == "reconciliation.finish_interrupted"]
    told = story(kleline, world)
    interrupt(kleline, told.document, 2)
    clock.advance(minutes=3)

    report = Worker(kleline, sweeps=[sweep]).run_once()

    assert report.sweeps == {"reconciliation.finish_interrupted": 1} and report.errors == ()
    check_finished(kleline, told)
