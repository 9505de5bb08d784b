"""Issue 14's journey end to end in Chromium (on SQLite, as every browser test): an admin invites a compliance person,
two finance people and a support person, who each join from their link; compliance approves a shop's application with a
commission rate; a customer pays the shop by card over the simulated card network; the first finance person starts
today's settlement run and downloads its pain.001 file, which the simulated bank books; the bank's camt.053 statement
(which also carries an adjustment no reference explains) is imported on the statements page, and its unexplained line
lands in suspense. The first finance person proposes where that line belongs and cannot approve it; support reads every
money page but each money act it tries is refused with nothing written; the second finance person approves, the line is
resolved and the books balance. The audit trail lists each act with who did it and their role; once a record of the
trail is edited in the database, the console's integrity check and ``kleline audit verify`` both name it.

Everything a person of the staff does goes through the console's pages; what is not staff work (the shop's
application, the customer's payment, the bank) is set up through the services and the simulated bank. Screenshots of
the key steps are kept in ``/tmp/shots-journey`` (or ``KLELINE_SCREENSHOTS``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect
from typer.testing import CliRunner

from kleline.api.app import create_app
from kleline.banks.tcp_server import Iso8583Server
from kleline.banksim.simulator import BankSimulator
from kleline.bootstrap import Kleline, build, open_system_accounts
from kleline.cli import app as cli
from kleline.config import load_settings
from kleline.ledger.audit import trial_balance
from kleline.money import Money
from kleline.payments.model import PaymentRequest
from kleline.staff.actor import command_line
from kleline.staff.roles import Role

from ..conftest import FakeClock
from ..e2e.console_world import staff_member
from ..e2e.live_server import loopback_listener, serving
from ..integration.staff.attacker import edit_as_attacker
from .conftest import BOTH_BACKENDS, LiveKleline
from .test_console_in_chromium import code_step, join, password_step

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("KLELINE_SCREENSHOTS", "/tmp/shots-journey"))  # noqa: S108 (a developer's scratch place)
ADMIN = "admin@kleline.example"
COMPLIANCE = "claire.compliance@kleline.example"
FINANCE_1 = "fanny.finance@kleline.example"
FINANCE_2 = "felix.finance@kleline.example"
SUPPORT = "sam.support@kleline.example"
SHOP = "Librairie Kléber"
SHOP_IBAN = "FR1420041010050500013M02606"
VISA = "4242424242424242"
UNEXPLAINED = 1_234  # the bank credits €12.34 that no reference explains
MONEY_TABLES = (
    "settlement_runs",
    "payouts",
    "bank_statements",
    "bank_statement_lines",
    "bank_statement_imports",
    "suspense_items",
    "proposals",
    "ledger_entries",
    "ledger_postings",
    "collection_runs",
    "integrity_checks",
    "staff_audit",
)


@pytest.fixture
def bank(clock: FakeClock) -> Iterator[tuple[BankSimulator, str]]:
    """The simulated network (its acquirer account is Kleline's safeguarding account) behind a TCP server."""
    simulator = BankSimulator(acquirer_iban=load_settings().safeguarding_iban, clock=clock)
    try:
        with Iso8583Server(simulator.handle) as server:
            host, port = server.server_address
            yield simulator, f"iso8583://{host}:{port}"
    finally:
        simulator.close()


@pytest.fixture
def banked(database_url: str, clock: FakeClock, bank: tuple[BankSimulator, str]) -> Iterator[LiveKleline]:
    """Kleline served on loopback, its card network the simulated one."""
    listener, url = loopback_listener()
    settings = load_settings(
        database_url=database_url, public_url=url, bank_url=bank[1], sign_in_rate=1000, sign_up_rate=1000
    )
    system = build(settings, clock=clock)
    open_system_accounts(system)
    try:
        with serving(create_app(system), listener):
            yield LiveKleline(system, url)
    finally:
        system.close()


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def rows(kleline: Kleline) -> dict[str, int]:
    """How many rows each money table holds."""
    with kleline.db.transaction(write=False) as tx:
        return {
            table: int(tx.fetchone(f"SELECT COUNT(*) FROM {table}", {})[0])  # noqa: S608 (fixed table names)
            for table in MONEY_TABLES
        }


def forged_post(page: Page, action: str, fields: dict[str, str] | None = None, *, file: str | None = None) -> int:
    """Post to ``action`` from the page as a form its person built themself (the page shows them none), with the
    page's own CSRF token and, when ``file``, that text as the ``statement`` file: the answer's status."""
    script = """([action, fields, file]) => {
        const form = document.createElement("form");
        form.method = "post";
        form.action = action;
        const add = (name, value) => {
            const input = document.createElement("input");
            input.type = "hidden"; input.name = name; input.value = value; form.append(input);
        };
        add("csrf_token", document.querySelector("input[name=csrf_token]").value);
        for (const [name, value] of Object.entries(fields)) add(name, value);
        if (file !== null) {
            form.enctype = "multipart/form-data";
            const input = document.createElement("input");
            input.type = "file"; input.name = "statement";
            const files = new DataTransfer();
            files.items.add(new File([file], "statement.xml", {type: "application/xml"}));
            input.files = files.files;
            form.append(input);
        }
        document.body.append(form);
        form.submit();
    }"""
    with page.expect_navigation() as answer:
        page.evaluate(script, [action, fields or {}, file])
    response = answer.value
    assert response is not None
    return response.status


class Customer:
    """A customer with a Visa card at the simulated issuer, who pays the shop through the services."""

    def __init__(self, kleline: Kleline, clock: FakeClock) -> None:
        self.kleline, self.clock = kleline, clock
        self.id = kleline.customers.sign_up("ada@example.org", "correct horse battery staple", "Ada").id
        self.card = kleline.cards.register(self.id, VISA, 12, 2030, "123", "Ada Lovelace").id
        self.totp = pyotp.parse_uri(kleline.strong_auth.enrol(self.id, "ada@example.org").provisioning_uri)

    def pays(self, merchant_id: str, minor: int) -> str:
        payments = self.kleline.payments
        payment = payments.create(merchant_id, PaymentRequest(Money(minor, "EUR")))
        paid = payments.confirm(payment.id, self.id, "card", card_id=self.card)
        if paid.status == "requires_action":
            self.clock.advance(seconds=31)
            code = str(self.totp.at(self.clock.now))
            paid = payments.confirm(payment.id, self.id, "card", card_id=self.card, sca_code=code)
        assert paid.status == "succeeded", paid
        return paid.id


@BOTH_BACKENDS
def test_staff_run_the_money_loop_in_the_console_support_moves_nothing_and_the_audit_trail_tells_every_act(
    banked: LiveKleline,
    bank: tuple[BankSimulator, str],
    chromium: Browser,
    page: Page,
    clock: FakeClock,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kleline, base, simulator = banked.kleline, banked.url, bank[0]
    _, admin_totp = staff_member(kleline, ADMIN, Role.ADMIN, clock)  # the first admin comes from the command line
    applied, _ = kleline.merchants.register(
        name=SHOP, email="shop@librairie-kleber.example", iban=SHOP_IBAN, siret="73282932000074"
    )
    customer = Customer(kleline, clock)

    # The admin invites the four of them; each joins from their link, in a browser of their own.
    page.goto(f"{base}/console/staff")
    password_step(page, ADMIN)
    code_step(page, admin_totp, clock)
    page.wait_for_url(f"{base}/console/staff")
    links = {}
    for email, role in (
        (COMPLIANCE, "Compliance"),
        (FINANCE_1, "Finance"),
        (FINANCE_2, "Finance"),
        (SUPPORT, "Support"),
    ):
        page.get_by_label("Their email address").fill(email)
        page.get_by_label("Role", exact=True).last.select_option(label=role)
        page.get_by_role("button", name="Make the invitation link").click()
        notice = page.get_by_role("status").filter(has_text="Invitation ready: send this link")
        expect(notice).to_contain_text(email)
        links[email] = notice.locator("code").inner_text()
    shot(page, "01-admin-invited")
    compliance, _ = join(chromium, base, links[COMPLIANCE], clock)
    finance, _ = join(chromium, base, links[FINANCE_1], clock)
    second, _ = join(chromium, base, links[FINANCE_2], clock)
    support, _ = join(chromium, base, links[SUPPORT], clock)
    ids = {person.email: person.id for person in kleline.staff_team.list(command_line())}

    # Compliance approves the shop at a 3.25 % commission.
    compliance.goto(f"{base}/console/approvals")
    compliance.get_by_role("link", name=SHOP).click()
    compliance.wait_for_url(f"{base}/console/approvals/{applied.id}")
    compliance.get_by_label("Commission rate, as a percentage").fill("3.25")
    shot(compliance, "02-compliance-application")
    compliance.get_by_role("button", name="Approve", exact=True).click()
    expect(compliance.get_by_role("status")).to_contain_text("The merchant was approved")
    shot(compliance, "03-compliance-approved")
    assert kleline.merchants.get(applied.id).status == "active"
    assert kleline.merchants.get(applied.id).fee_bps == 325

    # The customer pays €80.00 by card; finance 1 starts today's run and downloads its file for the bank.
    customer.pays(applied.id, 8_000)
    finance.goto(f"{base}/console/money/settlement-runs")
    finance.get_by_role("button", name="Start today's settlement run").click()
    expect(finance.get_by_role("status")).to_contain_text("Today's settlement run is done")
    expect(finance.locator("main")).to_contain_text("€77.40")  # €80.00 less the 3.25 % commission
    shot(finance, "04-finance-run")
    with finance.expect_download() as download:
        finance.get_by_role("link", name="Download the pain.001 file").click()
    pain001 = Path(download.value.path()).read_bytes()
    assert b"pain.001.001.03" in pain001

    # The bank books the file, credits an amount nobody explains, and issues its statement.
    simulator.receive_file(pain001)
    iban = kleline.own_account.iban
    simulator.update_account(iban, balance=simulator.account(iban).balance + Money(UNEXPLAINED, "EUR"))
    camt053 = tmp_path / "statement.xml"
    camt053.write_bytes(simulator.close_statement(iban).xml)

    finance.get_by_role("link", name="Bank statements", exact=True).click()
    finance.get_by_label("The camt.053 file").set_input_files(camt053)
    finance.get_by_role("button", name="Import the statement").click()
    expect(finance.get_by_role("status")).to_contain_text("The statement is imported")
    main = finance.locator("main")
    expect(main).to_contain_text("€12.34 in")
    expect(main).to_contain_text("held because its reference names nothing in the books")
    shot(finance, "05-finance-statement")
    finance.get_by_role("link", name="Bank statements", exact=True).click()
    expect(finance.locator("main")).to_contain_text("2 matched, 1 in suspense, 0 duplicates")

    # Finance 1 proposes where the line belongs; the page offers them no approval, and a forged one is refused.
    finance.get_by_role("link", name="Suspense queue", exact=True).click()
    finance.get_by_text("Propose a resolution").click()
    finance.get_by_label("Where the line belongs").select_option("account")
    finance.get_by_label("Its id or account code").fill("kleline:commission")
    finance.get_by_label("Note for the second person (why)").fill("Interest the bank credited: see its letter")
    shot(finance, "06-finance-proposing")
    finance.get_by_role("button", name="Propose").click()
    finance.wait_for_url(f"{base}/console/proposals?kind=suspense_resolution")
    waiting = finance.get_by_role("region", name="Proposals")
    expect(waiting).to_contain_text("You proposed it: a second person must approve or reject it.")
    expect(waiting.get_by_role("button", name="Approve")).to_have_count(0)
    shot(finance, "07-finance-own-proposal")
    (proposal,) = kleline.proposals.list(status="pending")
    (item,), _ = kleline.suspense.items(status="open")
    assert forged_post(finance, f"/console/proposals/{proposal.id}/approve") == 403
    expect(finance.locator("main")).to_contain_text("a second person must approve or reject it")
    shot(finance, "08-finance-own-approval-refused")
    assert kleline.proposals.get(proposal.id).status == "pending"

    # Support reads every money page, is shown no money form, and each money act it forges is refused.
    (run,), _ = kleline.settlement.list_runs()
    (imported,), _ = kleline.reconciliation.statements()
    before = rows(kleline)
    for path in (
        "/console/money/settlement-runs",
        f"/console/money/settlement-runs/{run.id}",
        "/console/money/statements",
        f"/console/money/statements/{imported.id}",
        "/console/money/suspense",
        "/console/proposals",
        "/console/money/safeguarding",
        "/console/books",
    ):
        answer = support.goto(f"{base}{path}")
        assert answer is not None and answer.status == 200, path
        expect(support.locator("form[method=post][action^='/console/money']")).to_have_count(0)
        expect(support.locator("form[method=post][action^='/console/books']")).to_have_count(0)
        expect(support.locator("form[method=post][action^='/console/proposals']")).to_have_count(0)
    shot(support, "09-support-proposals")
    answer = support.goto(f"{base}/console/money/settlement-runs/{run.id}/file")
    assert answer is not None and answer.status == 403
    expect(support.get_by_role("heading", name="Not allowed")).to_be_visible()
    document = camt053.read_text().replace(imported.statement_id, "STMT-FORGED")
    for action, fields, file in (
        ("/console/money/settlement-runs", {}, None),
        ("/console/money/statements", {}, document),
        (f"/console/money/suspense/{item.id}/propose", {"kind": "dismissed", "note": "no"}, None),
        (f"/console/proposals/{proposal.id}/approve", {}, None),
        (f"/console/proposals/{proposal.id}/reject", {"reason": "no"}, None),
        (f"/console/proposals/{proposal.id}/withdraw", {}, None),
        ("/console/books/integrity-check", {}, None),
    ):
        support.goto(f"{base}/console/proposals")
        assert forged_post(support, action, fields, file=file) == 403, action
        expect(support.get_by_role("heading", name="Not allowed")).to_be_visible()
        expect(support.locator("main")).to_contain_text("Your role (Support) does not allow this")
    shot(support, "10-support-refused")
    assert rows(kleline) == before
    assert kleline.proposals.get(proposal.id).status == "pending"

    # Finance 2 approves: the line is resolved and the books balance.
    second.goto(f"{base}/console/proposals")
    second.get_by_role("region", name="Proposals").get_by_role("button", name="Approve").click()
    expect(second.get_by_role("status")).to_contain_text("The proposal is approved")
    shot(second, "11-second-approved")
    second.goto(f"{base}/console/money/suspense")
    expect(second.locator("main")).to_contain_text("Nothing is held in suspense.")
    second.get_by_role("link", name="Safeguarding", exact=True).click()
    expect(second.locator("main")).to_contain_text("The books balance")
    shot(second, "12-second-safeguarding")
    second.goto(f"{base}/console/books")
    expect(second.locator("main")).to_contain_text("Debits and credits agree in every currency.")
    assert kleline.suspense.get(item.id).status == "resolved"
    assert trial_balance(kleline.db).balanced

    # The audit trail lists each act: who, their role, what.
    page.goto(f"{base}/console/audit")
    records = page.locator("ul.audit-records > li")
    shot(page, "13-audit-trail")
    expected = [
        (ADMIN, "admin", "staff_invited"),
        (COMPLIANCE, "compliance", "merchant_approved"),
        (FINANCE_1, "finance", "settlement_run_started"),
        (FINANCE_1, "finance", "export_downloaded"),
        (FINANCE_1, "finance", "bank_statement_imported"),
        (FINANCE_1, "finance", "proposal_made"),
        (FINANCE_2, "finance", "proposal_approved"),
        (FINANCE_2, "finance", "suspense_resolved"),
    ]
    for email, role, action in expected:
        listed = records.filter(has_text=action).filter(has_text=f"{email} · {ids[email]}")
        expect(listed.first).to_contain_text(role, ignore_case=True)

    # Someone with the database's credentials edits a record: the check names it, in the console and the CLI.
    with kleline.db.transaction(write=False) as tx:
        (edited,) = tx.fetchone("SELECT id FROM staff_audit WHERE action = 'settlement_run_started'", {})
    edit_as_attacker(kleline.db, f"UPDATE staff_audit SET role = 'admin' WHERE id = '{edited}'")  # noqa: S608
    second.get_by_role("button", name="Check now").click()
    integrity = second.get_by_role("region", name="Integrity check")
    expect(integrity).to_contain_text("Problems found.")
    expect(integrity).to_contain_text(re.compile(rf"audit trail: record \d+ \({edited}\) does not match its hash"))
    shot(second, "14-integrity-broken")
    monkeypatch.setenv("KLELINE_DATABASE_URL", database_url)
    verified = CliRunner().invoke(cli, ["audit", "verify"])
    assert verified.exit_code == 1, verified.output
    assert edited in verified.output and "1 problem(s) found in the staff audit trail" in verified.output
