"""The console's collection runs and receivables pages over HTTP on each backend, without JavaScript: a finance user
starts a collection run and downloads its pain.008 file (recorded in the audit trail), proposes to write a customer's
debt off (four eyes: nothing moves, a second proposal is refused), every error of the form reported and what was
typed kept; support reads the pages but no form, and its posts are refused with nothing written; a forged form is
refused; the money lists page through, a stale page's address showing the first page."""

from __future__ import annotations

import html
import re

from fastapi import FastAPI

from kleline.bootstrap import Kleline
from kleline.collections import receivable_code
from kleline.staff.actor import command_line
from kleline.staff.roles import Role

from ..conftest import FakeClock
from ..integration.collections.conftest import bank_account, customer, top_up
from ..integration.collections.test_receivables import in_debt
from ..integration.reconciliation.conftest import credit, statement
from .console_world import signed_in
from .test_console_money_pages import actions, app, kleline, rows

__all__ = ["app", "kleline"]  # the fixtures, shared with the money pages' tests

RUNS = "/console/money/collection-runs"
RECEIVABLES = "/console/money/receivables"


def test_a_finance_user_starts_a_collection_run_and_downloads_its_pain_008_file(
    kleline: Kleline, app: FastAPI, clock: FakeClock
) -> None:
    ada = customer(kleline)
    collection = top_up(kleline, ada, bank_account(kleline, ada).id, 2_000)
    finance = signed_in(kleline, app, clock, "fin@example.org", Role.FINANCE)
    page = finance.get(RUNS)
    assert page.status_code == 200 and "No collection run yet." in page.text
    assert f'action="{RUNS}"' in page.text
    forged = finance.post(RUNS, csrf="forged")
    assert forged.status_code == 403 and rows(kleline, "collection_runs") == 0
    started = finance.post(RUNS)
    assert started.status_code == 303, started.text
    run = finance.get(started.headers["location"])
    text = html.unescape(run.text)
    assert run.status_code == 200 and "The collection run is done" in text
    assert "€20.00" in text and collection.id in text and "sent to the bank" in text and "FRST" in text
    link = re.search(rf'href="({RUNS}/[^"]+/file)"', run.text)
    assert link is not None
    file = finance.get(link.group(1))
    assert file.status_code == 200 and file.headers["content-type"] == "application/xml"
    assert b"pain.008.001.02" in file.content and collection.id.encode() in file.content.replace(b"-", b"_")
    assert actions(kleline)[-1] == "export_downloaded"
    assert "1 collection, €20.00" in finance.get(RUNS).text
    empty = finance.post(RUNS)  # nothing left to collect: a run without a file
    assert empty.status_code == 303
    nothing = finance.get(empty.headers["location"])
    assert "This run found nothing to collect." in nothing.text and "/file" not in nothing.text
    no_file = finance.get(empty.headers["location"] + "/file")
    assert no_file.status_code == 404 and "it has no file" in no_file.text
    unknown = finance.get(f"{RUNS}/cr_unknown")
    assert unknown.status_code == 404 and "There is no such collection run" in unknown.text


def test_a_write_off_is_proposed_with_every_error_reported_and_nothing_moves_until_a_second_person(
    kleline: Kleline, app: FastAPI, clock: FakeClock
) -> None:
    ada, _ = in_debt(kleline, 1_500)
    finance = signed_in(kleline, app, clock, "fin@example.org", Role.FINANCE)
    page = finance.get(RECEIVABLES)
    text = html.unescape(page.text)
    assert page.status_code == 200 and "€15.00 owed" in text and "1 direct debit returned unpaid" in text
    action = f"{RECEIVABLES}/{ada}/write-offs"
    assert f'action="{action}"' in page.text
    typo = finance.post(action, amount="12,5x")
    assert typo.status_code == 400 and "Enter the amount in euros" in typo.text
    assert 'value="12,5x"' in typo.text and 'aria-invalid="true"' in typo.text
    too_much = finance.post(action, amount="20")
    assert too_much.status_code == 400 and "more than the customer owes" in too_much.text
    assert 'value="20"' in too_much.text
    assert kleline.proposals.list(status="pending") == []
    proposed = finance.post(action, amount="")
    assert proposed.status_code == 303 and proposed.headers["location"] == RECEIVABLES
    (proposal,) = kleline.proposals.list(status="pending")
    assert (proposal.kind, proposal.subject_id, proposal.parameters["owed"]) == ("write_off", ada, 1_500)
    assert kleline.ledger.balance(receivable_code(ada)).posted == 1_500  # nothing moved
    shown = html.unescape(finance.get(RECEIVABLES).text)
    assert "The write-off is proposed" in shown and "waiting for a second person" in shown
    assert f'action="{action}"' not in shown
    again = finance.post(action, amount="5")
    assert again.status_code == 409 and "already waits for a second person" in html.unescape(again.text)
    assert len(kleline.proposals.list(status="pending")) == 1
    assert actions(kleline).count("proposal_made") == 1


def test_support_reads_the_collection_and_receivable_pages_and_its_posts_are_refused_with_nothing_written(
    kleline: Kleline, app: FastAPI, clock: FakeClock
) -> None:
    ada, _ = in_debt(kleline, 1_500)  # one collection run, its collection returned
    (run,), _ = kleline.collections.runs.list()
    support = signed_in(kleline, app, clock, "sam@example.org", Role.SUPPORT)
    for path in (RUNS, f"{RUNS}/{run.id}", RECEIVABLES):
        page = support.get(path)
        assert page.status_code == 200, path
        assert 'method="post" action="/console/money' not in page.text, path
    assert "returned unpaid" in support.get(f"{RUNS}/{run.id}").text
    assert support.get(f"{RUNS}/{run.id}/file").status_code == 403
    before = (actions(kleline), rows(kleline, "collection_runs"), rows(kleline, "proposals"))
    support.get(RECEIVABLES)
    for path, fields in ((RUNS, {}), (f"{RECEIVABLES}/{ada}/write-offs", {"amount": "1"})):
        refused = support.post(path, **fields)
        assert refused.status_code == 403, path
        assert "Your role (Support) does not allow this" in refused.text, path
    assert (actions(kleline), rows(kleline, "collection_runs"), rows(kleline, "proposals")) == before


def test_the_money_lists_page_through_and_a_stale_page_shows_the_first(
    kleline: Kleline, app: FastAPI, clock: FakeClock
) -> None:
    for _ in range(26):
        kleline.collections.runs.run(actor=command_line())
    lines = [credit(f"REF-{n}", 100 + n, None) for n in range(27)]
    kleline.reconciliation.import_document(statement(kleline, *lines), actor=command_line())
    finance = signed_in(kleline, app, clock, "fin@example.org", Role.FINANCE)
    for path, count, item in (
        (RUNS, 26, "/console/money/collection-runs/"),
        ("/console/money/suspense", 27, "<li id="),
        ("/console/money/statements", 1, "/console/money/statements/"),
    ):
        if count <= 25:  # one page: no pager at all, and a stale address shows it
            assert "First page" not in finance.get(f"{path}?after=st_gone").text
            continue
        first = finance.get(path)
        assert first.text.count(item) == 25 and "First page" not in first.text
        older = re.search(rf'href="({re.escape(path)}\?after=[^"]+)" rel="next"', first.text)
        assert older is not None, path
        second = finance.get(html.unescape(older.group(1)))
        assert second.status_code == 200 and "First page" in second.text and 'rel="next"' not in second.text
        assert second.text.count(item) == count - 25
        stale = finance.get(f"{path}?after=nothing_like_an_id")
        assert stale.status_code == 200 and 'rel="next"' in stale.text and "First page" not in stale.text
    assert "Nothing is held in suspense." not in finance.get("/console/money/suspense").text


def test_a_run_a_crash_left_open_has_no_file_yet_and_the_next_run_finishes_it(
    kleline: Kleline, app: FastAPI, clock: FakeClock
) -> None:
    ada = customer(kleline)
    top_up(kleline, ada, bank_account(kleline, ada).id, 2_000)
    run = kleline.collections.runs.start(actor=command_line())  # taken, its file never written: a crash
    finance = signed_in(kleline, app, clock, "fin@example.org", Role.FINANCE)
    page = html.unescape(finance.get(f"{RUNS}/{run.id}").text)
    assert "interrupted: its file is not written yet" in page and f"{run.id}/file" not in page
    file = finance.get(f"{RUNS}/{run.id}/file")
    assert file.status_code == 409 and "start a collection run to finish it" in file.text
    finance.get(RUNS)
    finished = finance.post(RUNS)
    assert finished.headers["location"] == f"{RUNS}/{run.id}"
    assert finance.get(f"{RUNS}/{run.id}/file").status_code == 200
    assert rows(kleline, "collection_runs") == 1


def test_the_collection_and_receivable_pages_speak_french(kleline: Kleline, app: FastAPI, clock: FakeClock) -> None:
    in_debt(kleline, 1_500)
    finance = signed_in(kleline, app, clock, "fin@example.org", Role.FINANCE)
    runs = html.unescape(finance.get(f"{RUNS}?lang=fr").text)
    assert "<h1>Cycles de prélèvement</h1>" in runs and "Lancer un cycle de prélèvement" in runs
    debts = html.unescape(finance.get(RECEIVABLES).text)
    assert "15,00\u00a0€ dus" in debts and "Proposer une passation en perte" in debts
    assert "1 prélèvement revenu impayé" in debts
