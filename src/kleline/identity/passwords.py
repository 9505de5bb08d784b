"""The password step, as every kind of back-office person takes it: the customers' argon2 hashes, the lockout taken
by one conditional UPDATE before the password is even checked, and one sentence (``REFUSED_SIGN_IN``) and the same
work for an unknown address, a wrong password and a locked person."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from kleline.clock import epoch_us
from kleline.db.engine import Database
from kleline.errors import KlelineError, ValidationError
from kleline.identity import lockout
from kleline.identity.directory import Directory
from kleline.wallet.customers import (
    REFUSED_SIGN_IN,
    AuthenticationFailed,
    SignInLocked,
    password_problems,
)
from kleline.wallet.password_hashing import password_matches, timing_equaliser

__all__ = ["check_password", "current_password_matches", "password_change_problems"]

_NOBODY: Final = ""


def check_password(
    db: Database,
    d: Directory,
    found: tuple[str, str] | None,
    password: str,
    *,
    now: datetime,
    failures: int,
    lockout_for: timedelta,
) -> None:
    """Check ``password`` against ``found`` (the person's id and password hash; None: the address is nobody's), its
    attempt counted first; ``AuthenticationFailed`` or ``SignInLocked`` (one sentence, the same work) otherwise. The
    caller resets the count (``lockout.reset_failed_sign_ins``) in the transaction that signs the person in."""
    with db.transaction() as tx:
        allowed = lockout.take_sign_in_attempt(
            tx, d, found[0] if found else _NOBODY, failures, epoch_us(now), epoch_us(now + lockout_for)
        )
    matches = password_matches(found[1] if found is not None and allowed else timing_equaliser(), password)
    if found is None:
        raise AuthenticationFailed(REFUSED_SIGN_IN)
    if not allowed:
        raise SignInLocked(REFUSED_SIGN_IN)
    if not matches:
        raise AuthenticationFailed(REFUSED_SIGN_IN)


def current_password_matches(
    db: Database,
    d: Directory,
    user_id: str,
    password_hash: str,
    password: str,
    *,
    now: datetime,
    failures: int,
    lockout_for: timedelta,
) -> bool:
    """Whether ``password`` is the signed-in person's (before a change of it): a wrong one counts toward the lockout
    as a sign-in does, so that a session left open is no way to guess it; a right one resets the count."""
    with db.transaction() as tx:
        allowed = lockout.take_sign_in_attempt(tx, d, user_id, failures, epoch_us(now), epoch_us(now + lockout_for))
    if not (allowed and password_matches(password_hash, password)):
        return False
    with db.transaction() as tx:
        lockout.reset_failed_sign_ins(tx, d, user_id)
    return True


def password_change_problems(current: str, new: str, again: str, invalid: type[ValidationError]) -> list[KlelineError]:
    """Every rule a password change breaks that needs no database (the current one missing, the new one's length,
    the two new ones differing), all of them, for a form to show together, as ``invalid`` errors (each kind of person
    has its own); the current one is checked on its own."""
    problems: list[KlelineError] = []
    if not current:
        problems.append(invalid("current_password: enter your current password", param="current_password"))
    problems.extend(password_problems(new))
    if new != again:
        problems.append(invalid("new_password_again: the two new passwords differ", param="new_password_again"))
    return problems
