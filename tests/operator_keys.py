"""Operators for tests: the actor a test acts as when it calls a service directly, and ``op_`` keys in a role.

``OPERATOR`` stands for the command line (every power), as ``kleline.staff.actor.command_line`` does, under a name of
its own so that a test's records are easy to tell in the trail.
"""

from __future__ import annotations

from kleline.db.engine import Database
from kleline.operators.service import create_key
from kleline.staff.actor import StaffActor
from kleline.staff.roles import Role

__all__ = ["OPERATOR", "operator_key"]

OPERATOR = StaffActor("cli", "tests", None, "local")


def operator_key(db: Database, role: Role | None = None, label: str = "test") -> str:
    """The secret of a new live operator key acting in ``role``; None: a key as made before roles existed, which
    keeps every power (made as any key is, then its role taken away, as migration 0035 left the older keys)."""
    key = create_key(db, label, role=role or Role.SUPPORT, actor=OPERATOR)
    if role is None:
        with db.transaction() as tx:
            tx.execute("UPDATE operator_keys SET role = NULL WHERE id = :id", {"id": key.id})
    return key.secret
