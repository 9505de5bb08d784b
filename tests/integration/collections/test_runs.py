"""Collection runs: every collection not yet sent in one pain.008 file valid against its XSD, each collection in
exactly one file, whatever crashes or concurrent runs happen."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest

from kleline.bootstrap import Kleline
from kleline.collections import (
    CollectionRunOpen,
    CollectionStatus,
    NoCollectionFile,
    RunStatus,
    UnknownCollectionRun,
)
from kleline.sepa import read_direct_debits, validate_pain

from ...conftest import FakeClock
from ...operator_keys import OPERATOR
from .conftest import IBAN, OTHER_IBAN, bank_account, build_kleline, customer, eur, top_up


def test_a_run_sends_every_pending_collection_in_one_valid_pain_008_file(kleline: Kleline) -> None:
    ada, bob = customer(kleline), customer(kleline, "bob@example.org")
    adas, bobs = bank_account(kleline, ada), bank_account(kleline, bob, OTHER_IBAN)
    first = top_up(kleline, ada, adas.id, 2500)
    second = top_up(kleline, ada, adas.id, 1000)
    third = top_up(kleline, bob, bobs.id, 1234)
    run = kleline.collections.runs.run(actor=OPERATOR)
    assert run.id.startswith("cr_") and run.status is RunStatus.COMPLETE and run.has_file
    assert (run.collection_count, run.total) == (3, eur(4734))
    assert run.collection_date == date(2026, 1, 16)  # the next weekday after Thursday 15 January
    file = kleline.collections.runs.file(run.id)
    assert validate_pain(file) == "pain.008.001.02"
    creditor, debits = read_direct_debits(file)
    assert creditor == kleline.own_account.iban
    by_id = {d.end_to_end_id.replace("dd-", "dd_"): d for d in debits}  # SEPA's character set has no "_"
    assert set(by_id) == {first.id, second.id, third.id}
    assert (by_id[first.id].amount, by_id[first.id].iban, by_id[first.id].mandate_id) == (
        eur(2500),
        IBAN,
        adas.mandate_id,
    )
    assert by_id[third.id].mandate_id == bobs.mandate_id
    # A mandate's first collection is FRST, the others RCUR.
    assert sorted(by_id[c.id].sequence for c in (first, second)) == ["FRST", "RCUR"]
    assert by_id[third.id].sequence == "FRST"
    for collection in (first, second, third):
        sent = kleline.collections.get(collection.id)
        assert (sent.status, sent.run_id) == (CollectionStatus.SUBMITTED, run.id)


def test_the_next_run_sends_only_what_came_after_and_the_mandate_is_recurring_by_then(kleline: Kleline) -> None:
    ada = customer(kleline)
    account = bank_account(kleline, ada)
    first = top_up(kleline, ada, account.id, 2500)
    earlier = kleline.collections.runs.run(actor=OPERATOR)
    later_collection = top_up(kleline, ada, account.id, 700)
    later = kleline.collections.runs.run(actor=OPERATOR)
    assert later.id != earlier.id and later.collection_count == 1
    _, debits = read_direct_debits(kleline.collections.runs.file(later.id))
    assert [(d.end_to_end_id, d.sequence) for d in debits] == [(later_collection.end_to_end_id, "RCUR")]
    _, debits = read_direct_debits(kleline.collections.runs.file(earlier.id))
    assert [(d.end_to_end_id, d.sequence) for d in debits] == [(first.end_to_end_id, "FRST")]


def test_a_run_with_nothing_to_collect_is_complete_and_has_no_file(kleline: Kleline) -> None:
    run = kleline.collections.runs.run(actor=OPERATOR)
    assert (run.status, run.collection_count, run.has_file) == (RunStatus.COMPLETE, 0, False)
    with pytest.raises(NoCollectionFile):
        kleline.collections.runs.file(run.id)
    with pytest.raises(UnknownCollectionRun):
        kleline.collections.runs.get("cr_unknown")


def test_reading_an_open_runs_file_is_refused_and_leaves_the_run_open(kleline: Kleline) -> None:
    """Reading is safe: the file of a run a crash left open is not written by asking for it, only by running."""
    ada = customer(kleline)
    top_up(kleline, ada, bank_account(kleline, ada).id, 2500)
    interrupted = kleline.collections.runs.start(actor=OPERATOR)  # the process dies before it writes the file
    with pytest.raises(CollectionRunOpen) as refused:
        kleline.collections.runs.file(interrupted.id)
    assert (refused.value.status, refused.value.code) == (409, "collection_run_open")
    assert "POST /v1/collection-runs" in refused.value.detail and "kleline collect" in refused.value.detail
    still = kleline.collections.runs.get(interrupted.id)
    assert (still.status, still.has_file, still.completed_at) == (RunStatus.OPEN, False, None)
    finished = kleline.collections.runs.run(actor=OPERATOR)
    assert finished.id == interrupted.id and finished.status is RunStatus.COMPLETE
    assert validate_pain(kleline.collections.runs.file(finished.id)) == "pain.008.001.02"


def test_runs_are_listed_newest_first_a_page_at_a_time(kleline: Kleline, clock: FakeClock) -> None:
    ada = customer(kleline)
    top_up(kleline, ada, bank_account(kleline, ada).id, 2500)
    first = kleline.collections.runs.run(actor=OPERATOR)
    clock.advance(days=1)
    second = kleline.collections.runs.run(actor=OPERATOR)
    assert (first.collection_count, second.collection_count) == (1, 0)
    assert kleline.collections.runs.list(limit=1) == ([second], True)
    assert kleline.collections.runs.list(limit=1, after=second.id) == ([first], False)
    with pytest.raises(UnknownCollectionRun):
        kleline.collections.runs.list(after="cr_unknown")


def test_a_run_interrupted_after_taking_its_collections_is_finished_by_the_next(
    database_url: str, clock: FakeClock
) -> None:
    before = build_kleline(database_url, clock)
    ada = customer(before)
    account = bank_account(before, ada)
    taken = [top_up(before, ada, account.id, minor) for minor in (1000, 2000)]
    interrupted = before.collections.runs.start(actor=OPERATOR)  # the process dies before it writes the file
    before.close()
    after = build_kleline(database_url, clock)
    try:
        newer = top_up(after, ada, account.id, 500)  # arrives while the interrupted run waits
        finished = after.collections.runs.run(actor=OPERATOR)
        assert finished.id == interrupted.id and finished.status is RunStatus.COMPLETE
        _, debits = read_direct_debits(after.collections.runs.file(finished.id))
        assert sorted(d.end_to_end_id for d in debits) == sorted(c.end_to_end_id for c in taken)
        following = after.collections.runs.run(actor=OPERATOR)
        _, debits = read_direct_debits(after.collections.runs.file(following.id))
        assert [d.end_to_end_id for d in debits] == [newer.end_to_end_id]
        assert after.collections.list(status="pending")[0] == []
    finally:
        after.close()


def test_concurrent_runs_put_each_collection_in_exactly_one_file(kleline: Kleline) -> None:
    customers = [customer(kleline, f"c{i}@example.org") for i in range(3)]
    collections = []
    for customer_id in customers:
        account = bank_account(kleline, customer_id)
        collections += [top_up(kleline, customer_id, account.id, 100 * (i + 1)) for i in range(3)]
    with ThreadPoolExecutor(6) as pool:
        runs = list(pool.map(lambda _: kleline.collections.runs.run(actor=OPERATOR), range(6)))
    sent: list[str] = []
    for run in {run.id: run for run in runs}.values():
        assert run.status is RunStatus.COMPLETE
        if run.has_file:
            sent += [d.end_to_end_id for d in read_direct_debits(kleline.collections.runs.file(run.id))[1]]
    assert sorted(sent) == sorted(c.end_to_end_id for c in collections)
