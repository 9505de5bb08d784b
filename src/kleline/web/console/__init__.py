"""Kleline's operator console (``/console``): its staff's sign-in, invitations, the staff page and each person's
security page, the foundation the console's other pages (approvals, money, books, customers and merchants, growth,
the audit trail) build on.

The pages follow the dashboard's (``kleline.web.dashboard``: server-rendered, French and English, CSRF on every form,
every error at once, keyboard and 360 px usable, the same security headers and cookie flags) over the services
(``kleline.staff_users``), in a session of the console's own. A new page:

- takes its visit from ``visits.console_page(power)`` (a GET) or ``visits.console_form(power, back=...)`` (a form's
  post), FastAPI dependencies that give a ``ConsoleVisit`` whose ``actor`` is the ``StaffActor`` to hand to the
  services and the audit trail, and refuse a role without ``power`` with a 403 page naming it;
- renders a template that extends ``console/_layout.html`` (which includes ``console/_nav.html``) with
  ``visits.console_context(visit, title, section=<key>, ...)``;
- adds its ``Section`` to ``sections.SECTIONS`` (key, path, name, summary, power), which the navigation and the home
  page read.
"""

from fastapi import APIRouter

from kleline.web.console import (
    approvals,
    audit_trail,
    bank_changes,
    books,
    growth,
    home,
    invitations,
    money_collections,
    money_receivables,
    money_runs,
    money_safeguarding,
    money_statements,
    money_suspense,
    passkeys,
    people,
    proposals,
    security,
    sign_in,
    staff,
)

__all__ = ["routers"]

routers: tuple[APIRouter, ...] = (
    sign_in.router,
    invitations.router,
    home.router,
    staff.router,
    security.router,
    passkeys.router,
    approvals.router,
    audit_trail.router,
    money_runs.router,
    money_collections.router,
    money_statements.router,
    money_suspense.router,
    proposals.router,
    money_receivables.router,
    money_safeguarding.router,
    books.router,
    people.router,
    bank_changes.router,
    growth.router,
)
"""The console's routes, for ``kleline.web.app.install``."""
