"""Who acted, for Kleline's side: a staff member in the console, an ``op_`` key, or the command line.

Every operator act is checked against one ``Power`` (``StaffActor.require``) and recorded in the audit trail under
the same actor, so the trail says who, in which role, from where, whatever the door they came through.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import Literal

from kleline.errors import KlelineError
from kleline.staff.roles import Power, Role, allows

__all__ = ["ActorKind", "RoleForbids", "StaffActor", "command_line"]

ActorKind = Literal["staff", "key", "cli"]


class RoleForbids(KlelineError):
    """The operator is who it says, but its role does not grant the power this act needs."""

    code = "forbidden"
    status = 403


@dataclass(frozen=True, slots=True)
class StaffActor:
    """One operator: ``kind`` says which door (console user, ``op_`` key, command line), ``id`` whose (``st_...``,
    the key's number, the system user), ``role`` what it may do (``None``: every power), ``address`` where from."""

    kind: ActorKind
    id: str
    role: Role | None
    address: str | None = None

    def may(self, power: Power) -> bool:
        """True when this actor's role grants ``power``."""
        return allows(self.role, power)

    def require(self, power: Power) -> None:
        """Refuse (``RoleForbids``, 403) an act this actor's role does not grant."""
        if not self.may(power):
            role = self.role.value if self.role else "none"
            raise RoleForbids(f"the {role} role may not do this (it needs the {power.value} power)")

    @property
    def label(self) -> str:
        """How the actor is named in records and messages: ``staff st_...``, ``key 12``, ``cli alice``."""
        return f"{self.kind} {self.id}"


def command_line() -> StaffActor:
    """The command line's actor: whoever runs ``kleline`` holds the database's own credentials, hence every power;
    it is recorded under the system user's name so that the trail still says who."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return StaffActor("cli", user, None, "local")
