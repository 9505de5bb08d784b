"""The audit trail's page (``/console/audit``), for every role that reads: search the staff audit trail
(``kleline.staff.audit.search``) by actor kind and id, role, action, subject type and id, and a range of Paris days;
newest first, 50 a page, each record with who, in which role, what, on what, before and after, when (Paris time) and
from where. It only reads: the trail is append-only, and no page edits it.

The search is a GET form (the address holds it, to share or come back to); a filter that does not parse (a date, an
unknown kind or role) is named in the error summary with every other, the values typed kept, and nothing searched.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from kleline.errors import KlelineError
from kleline.staff.audit import AuditFilters, AuditRecord, search
from kleline.staff.roles import Power, Role
from kleline.web.console.visits import ConsoleVisit, console_context, console_page, respond
from kleline.web.console.wording import ROLE_NAMES
from kleline.web.history import PARIS
from kleline.web.i18n import N_, Language, language_of
from kleline.web.refusals import PageError
from kleline.web.rendering import render
from kleline.web.security import when
from kleline.web.visits import web_of

__all__ = ["AUDIT", "PER_PAGE", "router"]

router = APIRouter(include_in_schema=False)

AUDIT: Final = "/console/audit"
PER_PAGE: Final = 50
FIELDS: Final = ("actor_kind", "actor_id", "role", "action", "subject_type", "subject_id", "from", "to")
_KIND_NAMES: Final[Mapping[str, str]] = {
    "staff": N_("A person of the staff, in the console"),
    "key": N_("An operator key, through the API"),
    "cli": N_("The command line"),
}
_DATE_PROBLEM: Final = N_("Type a date as year-month-day, such as 2026-12-06")
_ORDER_PROBLEM: Final = N_("The end of the range comes before its start")
_TEXT_LIMIT: Final = 200

ReaderPage = Annotated[ConsoleVisit, Depends(console_page(Power.READ))]


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _start_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=PARIS)


def _value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _changes(record: AuditRecord) -> list[tuple[str, str, str]]:
    """Each key of the record's before and after: (key, before, after)."""
    before, after = record.before or {}, record.after or {}
    keys = list(before) + [key for key in after if key not in before]
    return [
        (key, _value(before.get(key)) if key in before else "", _value(after.get(key)) if key in after else "")
        for key in keys
    ]


def _emails(request: Request, records: Sequence[AuditRecord]) -> dict[str, str]:
    """The email address of each person of the staff who acted in ``records`` (by their ``st_`` id), so that the page
    says who they are rather than only their id; one who no longer exists is left out."""
    team = web_of(request).kleline.staff_team
    emails: dict[str, str] = {}
    for user_id in {record.actor_id for record in records if record.actor_kind == "staff"}:
        try:
            emails[user_id] = team.get(user_id).email
        except KlelineError:
            continue
    return emails


def _shown(record: AuditRecord, language: Language, emails: Mapping[str, str]) -> dict[str, Any]:
    return {
        "record": record,
        "email": emails.get(record.actor_id, "") if record.actor_kind == "staff" else "",
        "kind": language.gettext(_KIND_NAMES[record.actor_kind]) if record.actor_kind in _KIND_NAMES else "",
        "role": language.gettext(ROLE_NAMES[record.role]) if record.role is not None else "",
        "when": when(record.at, language),
        "changes": _changes(record),
    }


def _filters(typed: dict[str, str], language: Language) -> tuple[AuditFilters, list[PageError]]:
    _ = language.gettext
    errors: list[PageError] = []
    days: dict[str, date | None] = {}
    for field in ("from", "to"):
        days[field] = None
        if typed[field]:
            days[field] = _day(typed[field])
            if days[field] is None:
                errors.append(PageError(_(_DATE_PROBLEM), "validation_error", f"audit-{field}"))
    start, end = days["from"], days["to"]
    if start is not None and end is not None and end < start:
        errors.append(PageError(_(_ORDER_PROBLEM), "validation_error", "audit-to"))
    filters = AuditFilters(
        actor_kind=typed["actor_kind"] or None,
        actor_id=typed["actor_id"] or None,
        role=typed["role"] or None,
        action=typed["action"] or None,
        subject_type=typed["subject_type"] or None,
        subject_id=typed["subject_id"] or None,
        at_from=_start_of(start) if start else None,
        at_to=_start_of(end + timedelta(days=1)) if end else None,
    )
    return filters, errors


@router.get(AUDIT)
def audit_trail(request: Request, visit: ReaderPage) -> Response:
    """The trail's records matching the filters in the address, newest first, a page at a time."""
    language = language_of(request)
    _ = language.gettext
    query = request.query_params
    typed = {field: query.get(field, "").strip()[:_TEXT_LIMIT] for field in FIELDS}
    if typed["actor_kind"] not in ("", *_KIND_NAMES):
        typed["actor_kind"] = ""
    if typed["role"] not in ("", *(role.value for role in Role)):
        typed["role"] = ""
    filters, errors = _filters(typed, language)
    after = query.get("after") or None
    records: list[dict[str, Any]] = []
    next_page = ""
    if not errors:
        found = search(web_of(request).kleline.db, filters, limit=PER_PAGE, starting_after=after)
        emails = _emails(request, found.records)
        records = [_shown(record, language, emails) for record in found.records]
        if found.has_more and found.records:
            kept = {field: value for field, value in typed.items() if value}
            next_page = f"{AUDIT}?{urlencode({**kept, 'after': found.records[-1].id})}"
    context = console_context(
        visit,
        _(N_("Audit trail")),
        section="audit",
        errors=errors,
        typed=typed,
        kinds=[(kind, _(name)) for kind, name in _KIND_NAMES.items()],
        roles=[(role.value, _(ROLE_NAMES[role])) for role in Role],
        records=records,
        paged=after is not None,
        first_page=f"{AUDIT}?{urlencode({k: v for k, v in typed.items() if v})}",
        next_page=next_page,
    )
    status = 400 if errors else 200
    return respond(request, visit, render(request, "console/audit.html", context, status=status))
