"""Merchants and malls from the operator's desk: the approval queue (approve or refuse, saying why), suspension,
secret keys, invitations to a merchant's dashboard, galleries."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from kleline.cli.common import console, fail, kleline_for_command
from kleline.merchants import Merchant

__all__ = ["malls_app", "merchants_app"]

merchants_app = typer.Typer(
    help="Merchants: approval, refusal, suspension, secret keys, invitations to the dashboard.", no_args_is_help=True
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
    console.print(table)


def _moved(merchant: Merchant) -> None:
    typer.echo(f"{merchant.id} ({merchant.name}) is now {merchant.status}")


@merchants_app.command("approve")
def merchants_approve(merchant_id: Annotated[str, typer.Argument(help="merchant id (mer_...)")]) -> None:
    """Approve a pending merchant, or reactivate a suspended or refused one: it may take payments."""
    with kleline_for_command() as kleline:
        _moved(kleline.merchants.approve(merchant_id))


@merchants_app.command("suspend")
def merchants_suspend(
    merchant_id: Annotated[str, typer.Argument(help="merchant id (mer_...)")],
    reason: Annotated[
        str | None, typer.Option(help="why, in words the merchant reads on its dashboard (at most 500 characters)")
    ] = None,
) -> None:
    """Suspend an active merchant: it can no longer take payments."""
    with kleline_for_command() as kleline:
        _moved(kleline.merchants.suspend(merchant_id, reason))


@merchants_app.command("refuse")
def merchants_refuse(
    merchant_id: Annotated[str, typer.Argument(help="merchant id (mer_...)")],
    reason: Annotated[
        str, typer.Option(help="why, in words the merchant reads on its dashboard (at most 500 characters)")
    ],
) -> None:
    """Refuse a pending merchant's application, saying why: it may take no payment."""
    with kleline_for_command() as kleline:
        _moved(kleline.merchants.refuse(merchant_id, reason))


@merchants_app.command("create-key")
def merchants_create_key(merchant_id: Annotated[str, typer.Argument(help="merchant id (mer_...)")]) -> None:
    """Create a secret key for a merchant and print it (it is shown only this once)."""
    with kleline_for_command() as kleline:
        key = kleline.merchants.create_key(merchant_id)
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
        invited = kleline.merchant_users.invite(merchant_id, email, role, limit)
    typer.echo(invited.url)


@malls_app.command("create")
def malls_create(
    name: Annotated[str, typer.Argument(help="the mall's name")],
    slug: Annotated[str, typer.Argument(help="its public page's slug: lower-case letters, digits, hyphens")],
) -> None:
    """Open an empty mall and print its id."""
    with kleline_for_command() as kleline:
        mall = kleline.malls.create(name, slug)
    typer.echo(mall.id)


@malls_app.command("add-merchant")
def malls_add_merchant(
    mall_id: Annotated[str, typer.Argument(help="mall id (mall_...)")],
    merchant_id: Annotated[str, typer.Argument(help="merchant id (mer_...)")],
) -> None:
    """Place a merchant in a mall."""
    with kleline_for_command() as kleline:
        mall = kleline.malls.add_merchant(mall_id, merchant_id)
    typer.echo(f"{mall.name} ({mall.slug}) now has {len(mall.members)} merchant(s)")
