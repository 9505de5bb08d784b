"""``kleline proposals``: the four-eyes queue from the operator's desk. A write-off, a suspense resolution, a change of
a merchant's commission rate or bank account is proposed by one person (``kleline receivables write-off``, ``kleline
bank resolve``, ``kleline merchants set-commission-rate``, ``kleline merchants approve-bank-change``, or the API) and
applies when a second one approves it here.

The command line acts as the system user running it (``cli alice``): the user who proposed an act cannot approve it
from the same account; another user, a staff member in the console or an ``op_`` key can.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from kleline.cli.common import console, kleline_for_command, show

if TYPE_CHECKING:
    from kleline.proposals import Proposal

__all__ = ["announce", "describe", "proposals_app"]

proposals_app = typer.Typer(
    help="Four eyes: acts one person proposes and a second approves (write-offs, suspense resolutions, merchants' "
    "commission rates and bank accounts).",
    no_args_is_help=True,
)


def describe(proposal: Proposal) -> str:
    """What the proposal would do, in one line."""
    from kleline.money import Money

    p = proposal.parameters
    if proposal.kind == "write_off":
        amount, owed = Money(int(p["amount"]), str(p["currency"])), Money(int(p["owed"]), str(p["currency"]))
        return f"write off {amount} of the {owed} {proposal.subject_id} owes"
    if proposal.kind == "suspense_resolution":
        line = p.get("line") or {}
        held = f"{Money(int(line['amount']), str(line['currency']))} {line['direction']}" if line else "?"
        where = "dismissed" if p["type"] == "dismissed" else f"to {str(p['type']).replace('_', ' ')} {p['target']}"
        note = f" ({p['note']})" if p.get("note") else ""
        return f"resolve suspense item {proposal.subject_id} ({held}) {where}{note}"
    if proposal.kind == "commission_rate":
        return f"change {proposal.subject_id}'s commission from {p['previous_fee_bps']} to {p['fee_bps']} basis points"
    if proposal.kind == "intro_fee_rate":
        old, new = p["previous_intro_fee_bps"], p["intro_fee_bps"]
        return f"change {proposal.subject_id}'s introduction fee from {old} to {new} basis points"
    return f"pay {proposal.subject_id} into {p['iban']} ({p['bic']}), as its change {p['change_id']} asks"


def announce(proposal: Proposal) -> None:
    """Print a new proposal and how a second person approves it."""
    console.print(Text(f"{proposal.id}: proposed to {describe(proposal)}"), soft_wrap=True)
    console.print(
        Text(f"it takes effect once someone else approves it: kleline proposals approve {proposal.id}"),
        soft_wrap=True,
    )


def _who(proposal: Proposal) -> str:
    decided = proposal.decided_by.label if proposal.decided_by else ""
    return f"{proposal.proposed_by.label} / {decided}" if decided else proposal.proposed_by.label


@proposals_app.command("list")
def proposals_list(
    status: Annotated[
        str | None,
        typer.Option(help="only this status: pending, approved, rejected, withdrawn or failed (all by default)"),
    ] = "pending",
    kind: Annotated[
        str | None,
        typer.Option(
            help="only this kind: write_off, suspense_resolution, commission_rate, bank_account, intro_fee_rate"
        ),
    ] = None,
    subject: Annotated[str | None, typer.Option(help="only those on this customer, suspense item or merchant")] = None,
    every: Annotated[bool, typer.Option("--all", help="every status (overrides --status)")] = False,
    limit: Annotated[int, typer.Option(min=1, max=100, help="at most this many, newest first")] = 100,
) -> None:
    """List proposals, newest first: those waiting for a second person by default."""
    with kleline_for_command() as kleline:
        found = kleline.proposals.list(status=None if every else status, kind=kind, subject_id=subject, limit=limit)[
            :limit
        ]
    table = Table("id", "status", "kind", "what", "proposed", "by (proposer / decider)", "reason", title="Proposals")
    for proposal in found:
        when = proposal.proposed_at.strftime("%Y-%m-%d %H:%M")
        row = (proposal.id, proposal.status, proposal.kind.value, describe(proposal))
        table.add_row(*(Text(cell) for cell in row), when, Text(_who(proposal)), Text(proposal.reason or ""))
    show(table)


@proposals_app.command("show")
def proposals_show(proposal_id: Annotated[str, typer.Argument(help="the proposal's id (prop_...)")]) -> None:
    """Show one proposal: what it does, who proposed and decided it, and what it did."""
    import json

    with kleline_for_command() as kleline:
        proposal = kleline.proposals.get(proposal_id)
    lines = [
        f"{proposal.id}: {proposal.status}",
        f"kind: {proposal.kind.value} on {proposal.subject_type} {proposal.subject_id}",
        f"does: {describe(proposal)}",
        f"parameters: {json.dumps(dict(proposal.parameters), sort_keys=True)}",
        f"proposed by {proposal.proposed_by.label} on {proposal.proposed_at.isoformat()}",
    ]
    if proposal.decided_by is not None and proposal.decided_at is not None:
        lines.append(f"{proposal.status} by {proposal.decided_by.label} on {proposal.decided_at.isoformat()}")
    if proposal.reason:
        cause = f" ({proposal.failure_code})" if proposal.failure_code else ""
        lines.append(f"reason{cause}: {proposal.reason}")
    if proposal.result is not None:
        lines.append(f"result: {json.dumps(dict(proposal.result), sort_keys=True)}")
    for line in lines:
        console.print(Text(line), soft_wrap=True)


@proposals_app.command("approve")
def proposals_approve(proposal_id: Annotated[str, typer.Argument(help="the proposal's id (prop_...)")]) -> None:
    """Approve an act someone else proposed: it applies now. If it can no longer apply (its subject changed since),
    nothing is done, the proposal fails with the reason, and the exit status is 1."""
    from kleline.staff.actor import command_line

    with kleline_for_command() as kleline:
        proposal = kleline.proposals.approve(command_line(), proposal_id)
    console.print(Text(f"{proposal.id} is approved: done, {describe(proposal)}"), soft_wrap=True)


@proposals_app.command("reject")
def proposals_reject(
    proposal_id: Annotated[str, typer.Argument(help="the proposal's id (prop_...)")],
    reason: Annotated[str, typer.Option(help="why, in a sentence the proposer will read")],
) -> None:
    """Reject an act someone else proposed, saying why: it never applies."""
    from kleline.staff.actor import command_line

    with kleline_for_command() as kleline:
        proposal = kleline.proposals.reject(command_line(), proposal_id, reason)
    console.print(Text(f"{proposal.id} is rejected: nothing done"), soft_wrap=True)


@proposals_app.command("withdraw")
def proposals_withdraw(proposal_id: Annotated[str, typer.Argument(help="the proposal's id (prop_...)")]) -> None:
    """Withdraw an act you proposed: it never applies."""
    from kleline.staff.actor import command_line

    with kleline_for_command() as kleline:
        proposal = kleline.proposals.withdraw(command_line(), proposal_id)
    console.print(Text(f"{proposal.id} is withdrawn: nothing done"), soft_wrap=True)
