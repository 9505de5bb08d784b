"""The console's money pages over HTTP on each backend, without JavaScript: a finance user starts today's
settlement run (a second post answers the same run) and downloads its pain.001 file (recorded in the audit trail);
imports a camt.053 statement and sees its lines matched or held; proposes a suspense resolution that a second finance
user approves, the proposer being refused its own approval; support reads every page but no form, and its posts are
refused with nothing written; the safeguarding report explains the difference line by line."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from kleline.api.app import create_app
from kleline.bootstrap import Kleline
from kleline.staff.actor import command_line
from kleline.staff.audit import AuditFilters, search
from kleline.staff.roles import Role

from ..conftest import FakeClock
from ..integration.reconciliation.conftest import World, credit, debit, statement
from .console_world import ConsoleVisitor, console_system, signed_in


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    with console_system(database_url, clock) as system:
        yield system


@pytest.fixture
def app(kleline: Kleline) -> FastAPI:
    return create_app(kleline)


def actions(kleline: Kleline) -> list[str]:
    return [r.action for r in reversed(search(kleline.db, AuditFilters(), limit=500).records)]


def rows(kleline: Kleline, table: str) -> int:
    with kleline.db.transaction(write=False) as tx:
        return int(tx.fetchone(f"SELECT COUNT(*) FROM {table}", {})[0])  # noqa: S608 (a fixed table name)


def test_a_finance_user_starts_one_run_on_a_double_click_and_downloads_its_file(
    kleline: Kleline, app: FastAPI, clock: FakeClock
) -> None:
    World(kleline).card_payment(5_000)
    finance = signed_in(kleline, app, clock, "fin@example.org", Role.FINANCE)
    page = finance.get("/console/money/settlement-runs")
    assert page.status_code == 200 and "No settlement run yet." in page.text
    assert 'action="/console/money/settlement-runs"' in page.text
    first = finance.post("/console/money/settlement-runs")
    second = finance.post("/console/money/settlement-runs")  # the double click
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert rows(kleline, "settlement_runs") == 1 and rows(kleline, "payouts") == 1
    run = finance.get(first.headers["location"])
    assert run.status_code == 200 and "Today's settlement run is done" in html.unescape(run.text)
    assert "€48.25" in run.text  # €50 less the 3.5 % commission
    assert "to Librairie Kléber" in html.unescape(run.text)  # the merchant by name, not only by id
    link = re.search(r'href="(/console/money/settlement-runs/[^"]+/file)"', run.text)
    assert link is not None
    file = finance.get(link.group(1))
    assert file.status_code == 200 and file.headers["content-type"] == "application/xml"
    assert b"pain.001.001.03" in file.content
    assert actions(kleline)[-1] == "export_downloaded"
    listing = finance.get("/console/money/settlement-runs")
    assert "1 payout, €48.25" in listing.text and "complete" in listing.text


def upload(browser: ConsoleVisitor, document: bytes, csrf: str | None = None) -> object:
    data = {"csrf_token": browser.csrf if csrf is None else csrf}
    return browser.client.post(
        "/console/money/statements", data=data, files={"statement": ("statement.xml", document, "application/xml")}
    )


def test_a_finance_user_imports_a_statement_and_sees_its_matched_and_held_lines(
    kleline: Kleline, app: FastAPI, clock: FakeClock
) -> None:
    payout = World(kleline).payout(5_000)
    document = statement(
        kleline, debit("REF-1", payout.amount.minor, payout.end_to_end_id), credit("REF-2", 1_234, "NOBODY")
    )
    finance = signed_in(kleline, app, clock, "fin@example.org", Role.FINANCE)
    page = finance.get("/console/money/statements")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
    empty = finance.client.post("/console/money/statements", data={"csrf_token": finance.csrf}, files={"x": ("", b"")})
    assert empty.status_code == 400 and "Choose the camt.053 file" in empty.text
    garbage = upload(finance, b"<not a statement/>")
    assert garbage.status_code == 400 and 'aria-invalid="true"' in garbage.text
    assert rows(kleline, "bank_statements") == 0
    done = upload(finance, document)
    assert done.status_code == 303, done.text
    shown = finance.get(done.headers["location"])
    text = html.unescape(shown.text)
    assert "The statement is imported" in text
    assert f"matched {payout.id}" in text
    assert "€12.34 in" in text and "held because its reference names nothing in the books" in text
    again = upload(finance, document)
    assert again.headers["location"] == done.headers["location"]
    assert "imported before: nothing changed" in finance.get(again.headers["location"]).text
    assert "1 matched, 1 in suspense, 0 duplicates" in finance.get("/console/money/statements").text
    too_large = upload(finance, b"<x>" + b" " * (kleline.reconciliation.max_bytes + 20_000) + b"</x>")
    assert too_large.status_code == 413 and too_large.headers["content-type"].startswith("text/html")
    assert "The file is too large: a statement import takes at most 16 MB." in html.unescape(too_large.text)
    assert "An XML file of at most 16 MB" in html.unescape(page.text)


def test_a_month_of_statement_lines_is_imported_from_the_console_as_from_the_api(
    kleline: Kleline, app: FastAPI, clock: FakeClock
) -> None:
    lines = [credit(f"REF-{n}", 100 + n, f"UNKNOWN-{n}") for n in range(80)]
    document = statement(kleline, *lines)
    assert len(document) > 3 * 16 * 1024  # far above a page form's bound: a bank's real statement
    finance = signed_in(kleline, app, clock, "fin@example.org", Role.FINANCE)
    finance.get("/console/money/statements")
    done = upload(finance, document)
    assert done.status_code == 303, done.text
    assert "0 matched, 80 in suspense, 0 duplicates" in finance.get("/console/money/statements").text


def held_line(kleline: Kleline, world: World) -> tuple[str, str]:
    """A payout whose statement line came with another reference: the line held in suspense, and the payout."""
    payout = world.payout(5_000)
    document = statement(kleline, debit("REF-9", payout.amount.minor, "SOMETHING-ELSE"))
    kleline.reconciliation.import_document(document, actor=command_line())
    (item,), _ = kleline.suspense.items(status="open")
    return item.id, payout.id


def test_a_suspense_resolution_is_proposed_by_one_finance_user_and_approved_by_a_second(
    kleline: Kleline, app: FastAPI, clock: FakeClock
) -> None:
    item_id, payout_id = held_line(kleline, World(kleline))
    first = signed_in(kleline, app, clock, "fin@example.org", Role.FINANCE)
    queue = first.get("/console/money/suspense")
    assert queue.status_code == 200 and f'action="/console/money/suspense/{item_id}/propose"' in queue.text
    empty = first.post(f"/console/money/suspense/{item_id}/propose", kind="", target="", note="x" * 501)
    assert empty.status_code == 400
    assert "Choose where the line belongs" in empty.text and "at most 500 characters" in empty.text
    assert "x" * 501 in empty.text  # kept
    dismissed = first.post(f"/console/money/suspense/{item_id}/propose", kind="dismissed", target="po_x", note="")
    assert dismissed.status_code == 400
    assert "leave the id or code empty" in dismissed.text and "why the line is dismissed" in dismissed.text
    for kind, target, said in (
        ("payout", "po_doesnotexist", "Nothing of this kind has this id"),
        ("account", "kleline:nope", "No account of the books has this code"),
    ):
        unknown = first.post(f"/console/money/suspense/{item_id}/propose", kind=kind, target=target, note="typo")
        shown = html.unescape(unknown.text)
        assert unknown.status_code == 400 and said in shown and f'id="target-{item_id}-error"' in shown, kind
        assert f'value="{target}"' in shown and "typo" in shown  # the form comes back as typed
    gone = first.post("/console/money/suspense/sus_nobody/propose", kind="payout", target=payout_id, note="x")
    assert gone.status_code == 404  # an unknown line is the not-found page, not a form's error
    proposed = first.post(f"/console/money/suspense/{item_id}/propose", kind="payout", target=payout_id, note="ours")
    assert proposed.status_code == 303 and proposed.headers["location"] == "/console/proposals?kind=suspense_resolution"
    assert kleline.suspense.get(item_id).status == "open"  # nothing moved yet
    mine = first.get("/console/proposals")
    assert "You proposed it: a second person must approve or reject it." in mine.text
    assert "16 Jan 2026 · REF-9" in mine.text  # the held line as its statement shows it, not a si_ id
    proposal_id = kleline.proposals.list(status="pending")[0].id
    assert f"/console/proposals/{proposal_id}/withdraw" in mine.text
    assert f"/console/proposals/{proposal_id}/approve" not in mine.text
    own = first.post(f"/console/proposals/{proposal_id}/approve")
    assert own.status_code == 403 and "a second person must approve or reject it" in own.text
    assert kleline.proposals.get(proposal_id).status == "pending"
    second = signed_in(kleline, app, clock, "fin2@example.org", Role.FINANCE)
    theirs = second.get("/console/proposals")
    assert f"/console/proposals/{proposal_id}/approve" in theirs.text
    no_reason = second.post(f"/console/proposals/{proposal_id}/reject", reason=" ")
    assert no_reason.status_code == 400 and "Say why you reject it" in no_reason.text
    approved = second.post(f"/console/proposals/{proposal_id}/approve")
    assert approved.status_code == 303
    assert "The proposal is approved" in second.get("/console/proposals").text
    assert kleline.suspense.get(item_id).status == "resolved"
    assert "Nothing is held in suspense." in second.get("/console/money/suspense").text


def test_the_proposer_withdraws_and_a_second_person_rejects_with_a_reason(
    kleline: Kleline, app: FastAPI, clock: FakeClock
) -> None:
    item_id, payout_id = held_line(kleline, World(kleline))
    first = signed_in(kleline, app, clock, "fin@example.org", Role.FINANCE)
    first.get("/console/money/suspense")
    first.post(f"/console/money/suspense/{item_id}/propose", kind="payout", target=payout_id, note="")
    again = first.post(f"/console/money/suspense/{item_id}/propose", kind="payout", target=payout_id, note="")
    assert again.status_code in (200, 409, 400) and again.status_code != 303
    (proposal,) = kleline.proposals.list(status="pending")
    first.get("/console/proposals")
    assert first.post(f"/console/proposals/{proposal.id}/withdraw").status_code == 303
    assert kleline.proposals.get(proposal.id).status == "withdrawn"
    first.get("/console/money/suspense")
    first.post(f"/console/money/suspense/{item_id}/propose", kind="payout", target=payout_id, note="")
    (proposal,) = kleline.proposals.list(status="pending")
    second = signed_in(kleline, app, clock, "fin2@example.org", Role.FINANCE)
    second.get("/console/proposals")
    assert second.post(f"/console/proposals/{proposal.id}/withdraw").status_code == 403
    rejected = second.post(f"/console/proposals/{proposal.id}/reject", reason="Not ours")
    assert rejected.status_code == 303
    assert kleline.proposals.get(proposal.id).status == "rejected"
    assert "Not ours" in second.get("/console/proposals?status=rejected").text


def test_the_safeguarding_report_explains_the_difference_line_by_line(
    kleline: Kleline, app: FastAPI, clock: FakeClock
) -> None:
    World(kleline).card_payment(5_000)
    finance = signed_in(kleline, app, clock, "fin@example.org", Role.FINANCE)
    page = finance.get("/console/money/safeguarding")
    assert page.status_code == 200
    text = html.unescape(page.text)
    (currency,) = kleline.safeguarding.report().currencies
    assert '<h2 id="cur-EUR">EUR</h2>' in text
    assert "Merchants' balances" in text and "€48.25" in text  # the merchant's balance
    assert "Kleline's commission" in text and "€1.75" in text
    assert currency.unexplained == 0 and "The books balance" in text


def test_support_reads_the_money_pages_without_a_form_and_every_money_post_is_refused_with_nothing_written(
    kleline: Kleline, app: FastAPI, clock: FakeClock
) -> None:
    world = World(kleline)
    item_id, payout_id = held_line(kleline, world)
    (run,), _ = kleline.settlement.list_runs()
    (imported,), _ = kleline.reconciliation.statements()
    finance = signed_in(kleline, app, clock, "fin@example.org", Role.FINANCE)
    finance.get("/console/money/suspense")
    finance.post(f"/console/money/suspense/{item_id}/propose", kind="payout", target=payout_id, note="")
    (proposal,) = kleline.proposals.list(status="pending")
    support = signed_in(kleline, app, clock, "sam@example.org", Role.SUPPORT)
    assert 'href="/console/money"' in support.get("/console").text
    for path in (
        "/console/money/settlement-runs",
        f"/console/money/settlement-runs/{run.id}",
        "/console/money/statements",
        f"/console/money/statements/{imported.id}",
        "/console/money/suspense",
        "/console/proposals",
        "/console/money/safeguarding",
    ):
        page = support.get(path)
        assert page.status_code == 200, path
        assert 'method="post" action="/console/money' not in page.text, path
        assert 'action="/console/proposals/' not in page.text, path
    assert support.get(f"/console/money/settlement-runs/{run.id}/file").status_code == 403
    support.get("/console/proposals")
    before = (actions(kleline), rows(kleline, "settlement_runs"), rows(kleline, "bank_statements"))
    for path, fields in (
        ("/console/money/settlement-runs", {}),
        (f"/console/money/suspense/{item_id}/propose", {"kind": "dismissed", "note": "no"}),
        (f"/console/proposals/{proposal.id}/approve", {}),
        (f"/console/proposals/{proposal.id}/reject", {"reason": "no"}),
        (f"/console/proposals/{proposal.id}/withdraw", {}),
    ):
        refused = support.post(path, **fields)
        assert refused.status_code == 403, path
        assert "Your role (Support) does not allow this" in refused.text, path
    posted = upload(support, statement(kleline, credit("REF-X", 100, None), statement_id="STMT-X"))
    assert posted.status_code == 403
    assert (actions(kleline), rows(kleline, "settlement_runs"), rows(kleline, "bank_statements")) == before
    assert kleline.proposals.get(proposal.id).status == "pending"


def test_the_money_pages_speak_french(kleline: Kleline, app: FastAPI, clock: FakeClock) -> None:
    World(kleline).card_payment(5_000)
    finance = signed_in(kleline, app, clock, "fin@example.org", Role.FINANCE)
    runs = html.unescape(finance.get("/console/money/settlement-runs?lang=fr").text)
    assert "<h1>Cycles de règlement</h1>" in runs and "Lancer le cycle de règlement du jour" in runs
    started = finance.post("/console/money/settlement-runs")
    run = html.unescape(finance.get(started.headers["location"]).text)
    assert "Le cycle de règlement du jour est fait\u00a0: ses virements" in run and "48,25\u00a0€" in run
    queue = html.unescape(finance.get("/console/money/safeguarding").text)
    assert "Soldes des marchands" in queue and "Les comptes sont équilibrés\u00a0:" in queue
