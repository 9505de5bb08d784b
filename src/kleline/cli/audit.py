"""``kleline audit``: check the staff audit trail's chain, and search it with the filters of ``GET /v1/audit-events``
(``--from`` and ``--to`` both included, a day the whole UTC day)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from kleline.cli.common import console, errors, fail, kleline_for_command, show

__all__ = ["audit_app"]

audit_app = typer.Typer(help="The staff audit trail: every act of Kleline's staff.", no_args_is_help=True)

_KINDS = ("staff", "key", "cli")
_MOMENT = "a day (2026-01-15, UTC) or an instant with its offset (2026-01-15T09:30:00Z)"


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the trail's hash chain: exit 0 and "ok, N records", or 1 naming every record changed or missing."""
    from kleline.staff.audit import verify

    with kleline_for_command() as kleline:
        report = verify(kleline.db)
    if report.ok:
        console.print(f"[green]ok[/], {report.records} records", highlight=False)
        return
    for problem in report.problems:
        errors.print(f"[red]✗[/] {escape(problem)}", highlight=False)
    raise fail(f"{len(report.problems)} problem(s) found in the staff audit trail ({report.records} records)")


def _document(value: Any) -> str:
    return "" if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)


@audit_app.command("list")
def audit_list(
    actor_kind: Annotated[str | None, typer.Option(help="staff, key or cli")] = None,
    actor_id: Annotated[str | None, typer.Option(help="a staff user (st_...), a key's number, a system user")] = None,
    role: Annotated[str | None, typer.Option(help="admin, compliance, finance or support")] = None,
    action: Annotated[str | None, typer.Option(help="e.g. merchant_approved")] = None,
    subject_type: Annotated[str | None, typer.Option(help="e.g. merchant, settlement_run")] = None,
    subject_id: Annotated[str | None, typer.Option(help="e.g. mer_...")] = None,
    since: Annotated[str | None, typer.Option("--from", help=f"from (included): {_MOMENT}")] = None,
    until: Annotated[str | None, typer.Option("--to", help=f"to (included, a day whole): {_MOMENT}")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="at most this many, newest first")] = 50,
) -> None:
    """List the trail's records, newest first, narrowed by any of the filters (all must match)."""
    from kleline.clock import instant_bound, to_rfc3339
    from kleline.errors import ValidationError
    from kleline.staff.audit import AuditFilters, search
    from kleline.staff.roles import parse_role

    if actor_kind is not None and actor_kind not in _KINDS:
        raise typer.BadParameter(f"one of {', '.join(_KINDS)}", param_hint="'--actor-kind'")
    try:
        chosen_role = None if role is None else parse_role(role).value
        at_from = None if since is None else instant_bound(since.strip(), "--from", end=False)
        at_to = None if until is None else instant_bound(until.strip(), "--to", end=True)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="'--role'") from None
    except ValidationError as error:
        raise typer.BadParameter(error.detail, param_hint=f"'{error.param}'") from None
    filters = AuditFilters(actor_kind, actor_id, chosen_role, action, subject_type, subject_id, at_from, at_to)
    with kleline_for_command() as kleline:
        page = search(kleline.db, filters, limit=limit)
    table = Table(
        "#", "when (UTC)", "actor", "role", "action", "subject", "before", "after", "from", title="Staff audit"
    )
    for record in page.records:
        table.add_row(
            str(record.seq),
            to_rfc3339(record.at)[:19].replace("T", " "),
            Text(f"{record.actor_kind} {record.actor_id}"),
            record.role.value if record.role else "(every power)",
            Text(record.action),
            Text(" ".join(part for part in (record.subject_type, record.subject_id) if part)),
            Text(_document(record.before)),
            Text(_document(record.after)),
            Text(record.address or ""),
        )
    show(table)
    if page.has_more:
        console.print(f"(more: raise --limit above {limit}, or narrow the filters)", highlight=False)
