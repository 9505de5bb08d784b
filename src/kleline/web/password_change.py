"""A back-office person's password change from a security page (the dashboard's, the console's): every problem at
once, the current password checked even when the new one is refused, and the renewed session when it went through.
The rules are the services'; this only gathers their answers for the page."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from kleline.errors import KlelineError
from kleline.wallet.customers import WrongPassword

__all__ = ["PasswordChange", "PasswordChanging", "change_password"]

S = TypeVar("S")


class PasswordChanging(Protocol[S]):
    """What a security service offers for a password change (``MerchantSecurity``, ``StaffSecurity``)."""

    def check_current_password(self, session: S, current: str) -> None: ...

    def change_password(self, session: S, current: str, new: str, again: str, address: str | None = None) -> S: ...


@dataclass(frozen=True, slots=True)
class PasswordChange(Generic[S]):
    """What a password change came to: the ``renewed`` session (None: refused) and every ``problems`` found."""

    renewed: S | None
    problems: list[KlelineError]


def change_password(
    security: PasswordChanging[S],
    problems_of: Callable[[str, str, str], list[KlelineError]],
    session: S,
    form: Mapping[str, str],
    address: str | None,
) -> PasswordChange[S]:
    """The renewed session and no problem, or None and every problem of the form's ``current_password``,
    ``new_password`` and ``new_password_again`` (``problems_of``: the rules that need no database)."""
    current, new, again = (form.get(name, "") for name in ("current_password", "new_password", "new_password_again"))
    problems = list(problems_of(current, new, again))
    if problems and current:  # checked even when the new one is refused, so that every problem shows at once
        try:
            security.check_current_password(session, current)
        except WrongPassword as wrong:
            problems.insert(0, wrong)
    if problems:
        return PasswordChange(None, problems)
    try:
        return PasswordChange(security.change_password(session, current, new, again, address), [])
    except KlelineError as error:  # a wrong current password, or a lockout that began meanwhile
        return PasswordChange(None, [error])
