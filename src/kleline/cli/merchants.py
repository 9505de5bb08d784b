"""Merchants and malls from the operator's desk: the approval queue (approve or refuse, saying why), suspension,
secret keys, invitations to a merchant's dashboard, changes of bank account to check and commission rates (both
proposed here and approved by a second person: ``kleline proposals``), galleries. Every act is the command line's
(``kleline.staff.actor.command_line``), recorded in the staff audit trail."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from kleline.cli.common import fail, kleline_for_command, show
from kleline.merchants import Merchant
from kleline.staff.actor import command_line

__all__ = ["malls_app", "merchants_app"]

merchants_app = typer.Typer(
    help="Merchants: approval, refusal, suspension, secret keys, invitations to the dashboard, bank account changes, "
    "commission rates.",
    no_args_is_help=True,
)
malls_app = typer.Typer(help="Malls: galleries of merchants.", no_args_is_help=True)


@merchants_app.command("list")
def merchants_list(
    status: Annotated[str | None, typer.Option(help="only this status: pending, active, suspended or refused")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="at most this many, newest first")] = 100,
) -> None:
    """List merchants, newest first (``--status pending`` is the queue awaiting approval)."""
    with kleline_for_command() as kleline:
        merchants = kleline.merchants.list(limit=limit, status=status)
    table = Table("id", "name", "status", "fee (bps)", "email", "created", "reason", title="Merchants")
    for merchant in merchants:
        row = (merchant.id, merchant.name, merchant.status, str(merchant.fee_bps), merchant.email)
        created = merchant.created_at.strftime("%Y-%m-%d %H:%M")
        table.add_row(*(Text(cell) for cell in row), created, Text(merchant.status_reason or ""))
    show(table)


def _moved(merchant: Merchant) -> None:
    typer.echo(f"{merchant.id} ({merchant.name}) is now {merchant.status}")


@merchants_app.command("approve")
def merchants_approve(merchant_id: Annotated[str, typer.Argument(help="merchant id (mer_...)")]) -> None:
    """Approve a pending merchant, or reactivate a suspended or refused one: it may take payments."""
    with kleline_for_command() as kleline:
        _moved(kleline.merchants.approve(merchant_id, actor=command_line()))


@merchants_app.command("suspend")
def merchants_suspend(
    merchant_id: Annotated[str, typer.Argument(help="merchant id (mer_...)")],
    reason: Annotated[
        str | None, typer.Option(help="why, in words the merchant reads on its dashboard (at most 500 characters)")
    ] = None,
) -> None:
    """Suspend an active merchant: it can no longer take payments."""
    with kleline_for_command() as kleline:
        _moved(kleline.merchants.suspend(merchant_id, reason, actor=command_line()))


@merchants_app.command("refuse")
def merchants_refuse(
    merchant_id: Annotated[str, typer.Argument(help="merchant id (mer_...)")],
    reason: Annotated[
        str, typer.Option(help="why, in words the merchant reads on its dashboard (at most 500 characters)")
    ],
) -> None:
    """Refuse a pending merchant's application, saying why: it may take no payment."""
    with kleline_for_command() as kleline:
        _moved(kleline.merchants.refuse(merchant_id, reason, actor=command_line()))


@merchants_app.command("create-key")
def merchants_create_key(merchant_id: Annotated[str, typer.Argument(help="merchant id (mer_...)")]) -> None:
    """Create a secret key for a merchant and print it (it is shown only this once)."""
    with kleline_for_command() as kleline:
        key = kleline.merchants.create_key(merchant_id, actor=command_line())
    typer.echo(key.secret)


@merchants_app.command("invite")
def merchants_invite(
    merchant_id: Annotated[str, typer.Argument(help="merchant id (mer_...)")],
    email: Annotated[str, typer.Argument(help="the person's email address")],
    role: Annotated[str, typer.Option(help="owner, accountant or support")],
    refund_limit: Annotated[
        str | None, typer.Option(help="support only: what it may refund per payment, in euros (e.g. 50.00)")
    ] = None,
) -> None:
    """Invite a person to the merchant's dashboard and print the invitation link (single use, valid 72 hours)."""
    from kleline.money import Money

    limit = None
    if refund_limit is not None:
        try:
            limit = Money.parse(refund_limit, "EUR").minor
        except ValueError:
            raise fail(f"--refund-limit: an amount in euros, such as 50.00, not {escape(refund_limit)!r}") from None
    with kleline_for_command() as kleline:
        invited = kleline.merchant_users.invite(merchant_id, email, role, limit, by=command_line())
    typer.echo(invited.url)


_BY_CLI = "command line"


@merchants_app.command("bank-changes")
def merchants_bank_changes(
    merchant_id: Annotated[
        str | None, typer.Argument(help="merchant id (mer_...); without it, every merchant's pending change")
    ] = None,
    status: Annotated[
        str | None, typer.Option(help="with a merchant: only this status (pending, approved, rejected, withdrawn)")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100, help="at most this many")] = 100,
) -> None:
    """List bank account changes to check: every merchant's pending one, oldest first, or one merchant's, newest
    first. The new IBAN is shown in full, to be checked."""
    with kleline_for_command() as kleline:
        changes = kleline.bank_account_changes
        if merchant_id is None:
            if status is not None and status != "pending":
                raise fail("--status: name a merchant to list its changes other than the pending ones")
            found = changes.queue(limit=limit)
        else:
            found = changes.list(merchant_id, status=status, limit=limit)[:limit]
    table = Table("id", "merchant", "status", "new IBAN", "BIC", "asked by", "asked", "decision", title="Bank changes")
    for change in found:
        decision = change.reason or change.decided_by or ""
        when = change.requested_at.strftime("%Y-%m-%d %H:%M")
        asked_by = change.requested_by_name or change.requested_by
        row = (change.id, change.merchant_id, change.status, change.iban, change.bic, asked_by, when, decision)
        table.add_row(*(Text(cell) for cell in row))
    show(table)


@merchants_app.command("approve-bank-change")
def merchants_approve_bank_change(
    merchant_id: Annotated[str, typer.Argument(help="merchant id (mer_...)")],
    change_id: Annotated[str, typer.Argument(help="the change's id (bac_...), of that merchant")],
) -> None:
    """Propose to approve a merchant's new bank account once checked: once someone else approves the proposal
    (kleline proposals approve), its next payouts go there (earlier ones keep theirs)."""
    from kleline.cli.proposals import announce
    from kleline.staff.actor import command_line

    with kleline_for_command() as kleline:
        proposal = kleline.proposals.propose_bank_account(command_line(), merchant_id, change_id)
    announce(proposal)


@merchants_app.command("set-commission-rate")
def merchants_set_commission_rate(
    merchant_id: Annotated[str, typer.Argument(help="merchant id (mer_...)")],
    fee_bps: Annotated[int, typer.Argument(help="Kleline's commission in basis points, 300 to 400 (350 = 3.5 %)")],
) -> None:
    """Propose a new commission rate for an active merchant: once someone else approves the proposal (kleline
    proposals approve), its next payments take it (earlier ones keep theirs)."""
    from kleline.cli.proposals import announce
    from kleline.staff.actor import command_line

    with kleline_for_command() as kleline:
        proposal = kleline.proposals.propose_commission_rate(command_line(), merchant_id, fee_bps)
    announce(proposal)


@merchants_app.command("set-intro-fee-rate")
def merchants_set_intro_fee_rate(
    merchant_id: Annotated[str, typer.Argument(help="merchant id (mer_...)")],
    intro_fee_bps: Annotated[
        int, typer.Argument(help="Kleline's introduction fee in basis points, 0 to 2000 (500 = 5 %)")
    ],
) -> None:
    """Propose a new introduction fee rate for an active merchant (on the payments of customers its offers
    introduced): once someone else approves the proposal (kleline proposals approve), its next introduced payments
    take it (earlier ones keep theirs)."""
    from kleline.cli.proposals import announce
    from kleline.staff.actor import command_line

    with kleline_for_command() as kleline:
        proposal = kleline.proposals.propose_intro_fee_rate(command_line(), merchant_id, intro_fee_bps)
    announce(proposal)


@merchants_app.command("reject-bank-change")
def merchants_reject_bank_change(
    merchant_id: Annotated[str, typer.Argument(help="merchant id (mer_...)")],
    change_id: Annotated[str, typer.Argument(help="the change's id (bac_...), of that merchant")],
    reason: Annotated[str, typer.Option(help="why, in a sentence the merchant's owners will read")],
) -> None:
    """Reject a merchant's new bank account, saying why: it keeps its account."""
    with kleline_for_command() as kleline:
        change = kleline.bank_account_changes.reject(merchant_id, change_id, reason, by=_BY_CLI, actor=command_line())
    typer.echo(f"{change.id} is {change.status}: {change.merchant_id} keeps its account")


@malls_app.command("create")
def malls_create(
    name: Annotated[str, typer.Argument(help="the mall's name")],
    slug: Annotated[str, typer.Argument(help="its public page's slug: lower-case letters, digits, hyphens")],
) -> None:
    """Open an empty mall and print its id."""
    with kleline_for_command() as kleline:
        mall = kleline.malls.create(name, slug, actor=command_line())
    typer.echo(mall.id)


@malls_app.command("add-merchant")
def malls_add_merchant(
    mall_id: Annotated[str, typer.Argument(help="mall id (mall_...)")],
    merchant_id: Annotated[str, typer.Argument(help="merchant id (mer_...)")],
) -> None:
    """Place a merchant in a mall."""
    with kleline_for_command() as kleline:
        mall = kleline.malls.add_merchant(mall_id, merchant_id, actor=command_line())
    typer.echo(f"{mall.name} ({mall.slug}) now has {len(mall.members)} merchant(s)")
