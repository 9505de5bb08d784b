"""The console's approvals and audit trail pages over HTTP on each backend, without JavaScript: the queue of
applications oldest first with their checks and the merchants sharing an IBAN linked; compliance approves with a rate
typed as a percentage (kept exact in basis points), refuses with a reason it must give, suspends and reactivates,
each act in the audit trail; support reads without a form and its posts are refused with nothing written; the audit
trail searched by its filters, a page of 50 at a time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from kleline.api.app import create_app
from kleline.bootstrap import Kleline, build
from kleline.config import load_settings
from kleline.merchants.errors import InvalidMerchant, StatusConflict
from kleline.staff.actor import command_line
from kleline.staff.audit import AuditFilters, search
from kleline.staff.roles import Role
from kleline.web.console.approvals import fee_bps_of

from ..conftest import FakeClock
from .console_world import PUBLIC_URL, signed_in
from .dashboard_world import IBAN
from .page_visitor import alert


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    settings = load_settings(database_url=database_url, public_url=PUBLIC_URL, sign_in_rate=1000, sign_up_rate=1000)
    system = build(settings, clock=clock)
    try:
        yield system
    finally:
        system.close()


@pytest.fixture
def app(kleline: Kleline) -> FastAPI:
    return create_app(kleline)


def shop(kleline: Kleline, clock: FakeClock, name: str, iban: str = IBAN) -> str:
    clock.advance(seconds=60)
    registered, _ = kleline.merchants.register(name=name, email=f"{name.lower()}@example.fr", iban=iban)
    return registered.id


def records(kleline: Kleline, **filters: str) -> list:  # type: ignore[type-arg]
    return search(kleline.db, AuditFilters(**filters), limit=500).records


def test_rates_typed_as_percentages_become_exact_basis_points() -> None:
    assert fee_bps_of("3.25") == 325 and fee_bps_of("3,5") == 350 and fee_bps_of(" 4 % ") == 400
    assert fee_bps_of("3.00") == 300 and fee_bps_of("3.999") is None and fee_bps_of("4.01") is None
    for wrong in ("", "2.99", "abc", "3.2.1", "-3.5", "1e0", "NaN", "3.5.", "350"):
        assert fee_bps_of(wrong) is None, wrong


def test_compliance_sees_the_queue_oldest_first_and_approves_with_an_exact_rate_recorded(
    kleline: Kleline, app: FastAPI, clock: FakeClock
) -> None:
    older = shop(kleline, clock, "Boulangerie")
    newer = shop(kleline, clock, "Fromagerie")  # the same IBAN as the bakery
    browser = signed_in(kleline, app, clock, "eve@example.org", Role.COMPLIANCE, "/console/approvals")
    queue = browser.get("/console/approvals")
    assert queue.status_code == 200 and "2 applications waiting" in queue.text
    assert queue.text.index("Boulangerie") < queue.text.index("Fromagerie")
    assert f'href="/console/approvals/{newer}"' in queue.text and "IBAN used by another merchant" in queue.text
    assert "every check passed" not in queue.text  # neither gave a SIRET, and they share an IBAN
    page = browser.get(f"/console/approvals/{older}")
    assert 'action="/console/approvals/' + older + '/approve"' in page.text
    assert f'<a href="/console/approvals/{newer}">Fromagerie</a> (waiting for a decision, {newer})' in page.text

    wrong = browser.post(f"/console/approvals/{older}/approve", fee_rate="4.5")
    assert wrong.status_code == 400 and "from 3 to 4 %" in alert(wrong) and 'value="4.5"' in wrong.text
    assert kleline.merchants.get(older).status == "pending"

    done = browser.post(f"/console/approvals/{older}/approve", fee_rate="3.25")
    assert (done.status_code, done.headers["location"]) == (303, f"/console/approvals/{older}")
    merchant = kleline.merchants.get(older)
    assert (merchant.status, merchant.fee_bps) == ("active", 325)
    [record] = records(kleline, subject_id=older, action="merchant_approved")
    assert record.role == Role.COMPLIANCE and record.actor_kind == "staff"
    assert record.after is not None and record.after["fee_bps"] == 325 and record.after["status"] == "active"
    after = browser.get(f"/console/approvals/{older}")
    assert "The merchant was approved" in after.text and "3.25 %" in after.text
    assert "/approve" not in after.text and f"/console/approvals/{older}/suspend" in after.text


def test_refusing_needs_a_reason_and_suspending_and_reactivating_are_recorded(
    kleline: Kleline, app: FastAPI, clock: FakeClock
) -> None:
    refused = shop(kleline, clock, "Quincaillerie")
    browser = signed_in(kleline, app, clock, "eve@example.org", Role.COMPLIANCE, "/console/approvals")
    browser.get(f"/console/approvals/{refused}")
    empty = browser.post(f"/console/approvals/{refused}/refuse", reason="   ")
    assert empty.status_code == 400 and "Say why" in alert(empty)
    assert kleline.merchants.get(refused).status == "pending"
    done = browser.post(f"/console/approvals/{refused}/refuse", reason="Your SIRET is not a shop's")
    assert done.status_code == 303
    merchant = kleline.merchants.get(refused)
    assert (merchant.status, merchant.status_reason) == ("refused", "Your SIRET is not a shop's")

    active = shop(kleline, clock, "Librairie")
    kleline.merchants.approve(active, actor=command_line())
    browser.get(f"/console/approvals/{active}")
    no_reason = browser.post(f"/console/approvals/{active}/suspend", reason="")
    assert no_reason.status_code == 400 and "Say why" in alert(no_reason)
    assert browser.post(f"/console/approvals/{active}/suspend", reason="Chargebacks").status_code == 303
    assert kleline.merchants.get(active).status == "suspended"
    page = browser.get(f"/console/approvals/{active}")
    assert "Chargebacks" in page.text and f"/console/approvals/{active}/reactivate" in page.text
    assert browser.post(f"/console/approvals/{active}/reactivate").status_code == 303
    assert kleline.merchants.get(active).status == "active"
    stale = browser.post(f"/console/approvals/{active}/reactivate")  # a second click, from the old page
    assert stale.status_code == 409 and "now “active”" in alert(stale)
    actions = [r.action for r in records(kleline, subject_id=active, actor_kind="staff")]
    assert len(actions) == 2 and all(
        r.role == Role.COMPLIANCE for r in records(kleline, subject_id=active, actor_kind="staff")
    )
    assert browser.get("/console/approvals/mer_nobody").status_code == 404


def test_support_reads_the_queue_without_forms_and_its_posts_are_refused_with_nothing_written(
    kleline: Kleline, app: FastAPI, clock: FakeClock
) -> None:
    pending = shop(kleline, clock, "Boulangerie")
    browser = signed_in(kleline, app, clock, "sam@example.org", Role.SUPPORT, "/console/approvals")
    queue = browser.get("/console/approvals")
    assert queue.status_code == 200 and "Boulangerie" in queue.text
    page = browser.get(f"/console/approvals/{pending}")
    assert (
        page.status_code == 200
        and "<form" not in page.text.replace('action="/console/sign-out"', "").split("</header>")[-1]
    )
    trail = len(records(kleline))
    for act, fields in (("approve", {"fee_rate": "3.5"}), ("refuse", {"reason": "no"}), ("suspend", {"reason": "x"})):
        answer = browser.post(f"/console/approvals/{pending}/{act}", **fields)
        assert answer.status_code == 403 and "Approve, refuse and suspend merchants" in answer.text
    assert kleline.merchants.get(pending).status == "pending" and len(records(kleline)) == trail


def test_a_post_without_the_forms_token_changes_nothing(kleline: Kleline, app: FastAPI, clock: FakeClock) -> None:
    pending = shop(kleline, clock, "Boulangerie")
    browser = signed_in(kleline, app, clock, "eve@example.org", Role.COMPLIANCE, f"/console/approvals/{pending}")
    assert browser.post(f"/console/approvals/{pending}/approve", csrf="forged", fee_rate="3.5").status_code == 403
    assert kleline.merchants.get(pending).status == "pending"


def test_the_audit_trail_is_searched_by_its_filters_and_paged_by_fifty(
    kleline: Kleline, app: FastAPI, clock: FakeClock
) -> None:
    ids = [shop(kleline, clock, f"Shop{n}") for n in range(3)]
    for merchant_id in ids:
        kleline.merchants.approve(merchant_id, actor=command_line())
    browser = signed_in(kleline, app, clock, "sam@example.org", Role.SUPPORT, "/console/audit")
    everything = browser.get("/console/audit")
    assert everything.status_code == 200 and '<form method="get"' in everything.text
    assert 'method="post"' not in everything.text.split("</header>")[-1]  # nothing to edit
    one = browser.get(f"/console/audit?subject_type=merchant&subject_id={ids[1]}")
    assert ids[1] in one.text and ids[0] not in one.text and ids[2] not in one.text
    assert '<th scope="row">status</th><td>pending</td><td>active</td>' in one.text
    by_cli = browser.get("/console/audit?actor_kind=cli&action=merchant_approved")
    assert all(i in by_cli.text for i in ids) and by_cli.text.index(ids[2]) < by_cli.text.index(ids[0])  # newest first
    staff_only = browser.get("/console/audit?role=support&action=merchant_approved")
    assert "No record matches." in staff_only.text
    today = clock.now.date().isoformat()
    assert ids[0] in browser.get(f"/console/audit?from={today}&to={today}").text
    assert "No record matches." in browser.get("/console/audit?from=2001-01-01&to=2001-01-02").text
    wrong = browser.get("/console/audit?from=yesterday&to=2001-01-01&actor_id=st_x")
    assert wrong.status_code == 400 and "year-month-day" in alert(wrong) and 'value="st_x"' in wrong.text

    for n in range(60):
        kleline.merchants.describe(ids[0], description=f"Version {n}", website=None, actor=command_line())
    first = browser.get("/console/audit?action=merchant_profile_changed")
    assert first.text.count("<table") == 50 and "Version 59" in first.text and "Older records" in first.text
    older = first.text.split('href="/console/audit?action=merchant_profile_changed&amp;after=')[1].split('"')[0]
    second = browser.get(f"/console/audit?action=merchant_profile_changed&after={older}")
    assert second.text.count("<table") == 10 and "Version 0" in second.text and "Version 59" not in second.text
    assert "Older records" not in second.text and "Newest records" in second.text


def test_a_rate_is_set_with_the_first_approval_only(kleline: Kleline, clock: FakeClock) -> None:
    merchant_id = shop(kleline, clock, "Boulangerie")
    with pytest.raises(InvalidMerchant):
        kleline.merchants.approve(merchant_id, actor=command_line(), fee_bps=450)
    assert kleline.merchants.approve(merchant_id, actor=command_line(), fee_bps=300).fee_bps == 300
    kleline.merchants.suspend(merchant_id, "checks", actor=command_line())
    with pytest.raises(StatusConflict):
        kleline.merchants.approve(merchant_id, actor=command_line(), fee_bps=320)
    merchant = kleline.merchants.get(merchant_id)
    assert (merchant.status, merchant.fee_bps) == ("suspended", 300)


def test_an_application_reads_in_french_what_each_check_found(kleline: Kleline, app: FastAPI, clock: FakeClock) -> None:
    """What the checks found, the kind of shop and the telephone, in the clerk's language: no English sentence of
    the service on a French page."""
    registered, _ = kleline.merchants.register(
        name="Atelier Nord",
        email="nora@atelier-nord.example",
        iban=IBAN,
        siret="73282932000074",
        vat_number="FR44732829320",
        contact_name="Nora Lindqvist",
        contact_phone="06 12 34 56 78",
        category="clothing",
    )
    browser = signed_in(kleline, app, clock, "eve@example.org", Role.COMPLIANCE, "/console/approvals")
    page = browser.get(f"/console/approvals/{registered.id}?lang=fr").text
    assert "Candidature\xa0: Atelier Nord" in page
    assert f"banque {registered.bic}" in page and ", bank " not in page
    assert "SIRET 73282932000074, SIREN 732829320" in page
    assert "FR44732829320 correspond à l’entreprise du SIRET" in page and "matches" not in page
    assert "Nora Lindqvist, +33 6 12 34 56 78" in page
    assert "<dd>Vêtements et chaussures</dd>" in page and "<dd>clothing</dd>" not in page
    english = browser.get(f"/console/approvals/{registered.id}?lang=en").text
    assert "FR44732829320 matches the SIRET&#39;s company" in english and "<dd>Clothing and shoes</dd>" in english
