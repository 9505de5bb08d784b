"""Staff roles and the powers each grants: least privilege, one table to read.

A role is what a person (or an ``op_`` key made for automation) is for; a power is one kind of act. Every operator
act checks one power, never a role by name, so that who may do what is decided here and nowhere else:

============  ======================================================================================
admin         staff and settings (malls), and reading everything
compliance    merchants' approval, refusal, suspension, commission rate and bank account; customers'
              verification level; reading everything
finance       settlement and collection runs, statement imports, suspense, receivables, write-offs,
              exports; reading everything
support       reading customers, merchants and payments; no money movement, no decision
============  ======================================================================================

``None`` as a role means every power: the ``op_`` keys made before roles existed keep what they could do, and the
command line, which holds the database's own credentials, can do everything anyway (it is recorded as such).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

__all__ = ["ROLE_POWERS", "Power", "Role", "allows", "parse_role"]


class Role(StrEnum):
    """A staff member's (or an operator key's) role."""

    ADMIN = "admin"
    COMPLIANCE = "compliance"
    FINANCE = "finance"
    SUPPORT = "support"


class Power(StrEnum):
    """One kind of act an operator may be allowed."""

    READ = "read"
    """Read customers, merchants, payments, the books and the audit trail."""
    MANAGE_STAFF = "manage_staff"
    """Create staff users, change their role, disable them; create and revoke ``op_`` keys."""
    MANAGE_SETTINGS = "manage_settings"
    """Curate malls and change Kleline-wide settings."""
    DECIDE_MERCHANTS = "decide_merchants"
    """Approve, refuse, suspend and reactivate merchants; propose or approve a commission rate or bank account."""
    VERIFY_CUSTOMERS = "verify_customers"
    """Change a customer's verification level."""
    RUN_MONEY = "run_money"
    """Start settlement and collection runs; import bank statements."""
    RESOLVE_SUSPENSE = "resolve_suspense"
    """Propose or approve a manual resolution of a suspense line."""
    MANAGE_RECEIVABLES = "manage_receivables"
    """Propose or approve a write-off of a receivable."""
    EXPORT = "export"
    """Download the books' exports (FEC, beancount) and statement files."""


ROLE_POWERS: Final[dict[Role, frozenset[Power]]] = {
    Role.ADMIN: frozenset({Power.READ, Power.MANAGE_STAFF, Power.MANAGE_SETTINGS}),
    Role.COMPLIANCE: frozenset({Power.READ, Power.DECIDE_MERCHANTS, Power.VERIFY_CUSTOMERS}),
    Role.FINANCE: frozenset(
        {Power.READ, Power.RUN_MONEY, Power.RESOLVE_SUSPENSE, Power.MANAGE_RECEIVABLES, Power.EXPORT}
    ),
    Role.SUPPORT: frozenset({Power.READ}),
}


def allows(role: Role | None, power: Power) -> bool:
    """True when ``role`` grants ``power``; ``None`` (an older key, the command line) grants every power."""
    return role is None or power in ROLE_POWERS[role]


def parse_role(text: str) -> Role:
    """The role named ``text`` (``ValueError`` naming the roles otherwise)."""
    try:
        return Role(text.strip().lower())
    except ValueError:
        names = ", ".join(role.value for role in Role)
        raise ValueError(f"unknown role {text!r}: choose one of {names}") from None
