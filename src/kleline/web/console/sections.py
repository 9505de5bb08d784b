"""The console's sections: one list, read by the navigation and by the home page, each section opened only to the
roles whose powers include its own.

A page that comes later adds its ``Section`` here (its key, its address, its name marked with ``N_``, the power it
needs; None: every signed-in staff user), and sets ``section=<key>`` in its ``console_context`` so that the
navigation marks it as the current one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from kleline.staff.actor import StaffActor
from kleline.staff.roles import Power
from kleline.web.i18n import N_

__all__ = ["SECTIONS", "Section", "visible_sections"]


@dataclass(frozen=True, slots=True)
class Section:
    """A part of the console: ``name`` (in English, translated when shown) and ``summary`` (what it is for, on the
    home page) are marked with ``N_``; ``power`` is what its pages ask for (None: every staff user)."""

    key: str
    path: str
    name: str
    summary: str
    power: Power | None


SECTIONS: Final[tuple[Section, ...]] = (
    Section("home", "/console", N_("Home"), N_("Who you are, and what your role allows"), None),
    Section(
        "staff",
        "/console/staff",
        N_("Staff"),
        N_("Invite people to Kleline's staff, change their roles, disable them"),
        Power.MANAGE_STAFF,
    ),
    Section(
        "approvals",
        "/console/approvals",
        N_("Approvals"),
        N_("Merchants' applications and their checks: approve, refuse, suspend"),
        Power.READ,
    ),
    Section(
        "audit",
        "/console/audit",
        N_("Audit trail"),
        N_("Every act of the staff: who, in which role, what, before and after, when, from where"),
        Power.READ,
    ),
    Section(
        "money",
        "/console/money",
        N_("Money"),
        N_(
            "Settlement runs, direct debit collection runs, bank statements, the suspense queue and its proposals, "
            "customers' receivables, safeguarding"
        ),
        Power.READ,
    ),
    Section(
        "proposals",
        "/console/proposals",
        N_("Proposals"),
        N_("Write-offs, suspense resolutions, commission rates and bank accounts waiting for a second person"),
        Power.READ,
    ),
    Section(
        "customers",
        "/console/customers",
        N_("Customers"),
        N_("Find a customer: their purse, cards, verification level and payments"),
        Power.READ,
    ),
    Section(
        "merchants",
        "/console/merchants",
        N_("Merchants"),
        N_("Find a merchant: their profile, balance, payments and people"),
        Power.READ,
    ),
    Section(
        "books",
        "/console/books",
        N_("The books"),
        N_("The trial balance, any account's movements, the integrity check, the exports"),
        Power.READ,
    ),
    Section(
        "growth",
        "/console/growth",
        N_("Growth"),
        N_("Merchants, customers, payments, volume and commission by month, beside the 10 % a month target"),
        Power.READ,
    ),
    Section(
        "security",
        "/console/security",
        N_("Security"),
        N_("Your authenticator app, your password, your sessions and last sign-ins"),
        None,
    ),
)


def visible_sections(actor: StaffActor | None) -> list[Section]:
    """The sections ``actor``'s role opens (none to a visitor not signed in)."""
    if actor is None:
        return []
    return [section for section in SECTIONS if section.power is None or actor.may(section.power)]
