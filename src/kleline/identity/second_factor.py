"""An authenticator app's code, given at sign-in or to confirm it is them, checked with the strong authentication's
pure functions.

The customers' codes answer a challenge bound to a payment (``kleline.wallet.sca.verify_challenge``); a merchant
user's or a staff user's answer a sign-in or a re-authentication, bound to nothing but the person, so only the pieces
that fit are reused: ``code_matches`` (one step of clock drift either way), the guard (``AuthGuard``: consecutive
wrong codes and the last accepted time step, so that a code seen once cannot be used again), ``MAX_FAILURES``, and
the refusals ``CodeInvalid`` and ``AuthenticationBlocked``, worded alike on every page.

What differs: the customers' guard blocks until it is reset; here the fifth wrong code in a row locks the person's
sign-in for the lockout period instead (the caller ends its sessions and sets ``locked_until``), after which the
count starts again: nobody must be locked out of their own pages for good by someone who knows their password.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kleline.errors import KlelineError
from kleline.wallet.sca import MAX_FAILURES, AuthenticationBlocked, AuthGuard, CodeInvalid, code_matches

__all__ = ["CodeCheck", "check_code", "normalise_code"]


@dataclass(frozen=True, slots=True)
class CodeCheck:
    """The outcome of a code: the guard to store in every case, and the refusal to raise once it is stored (None:
    accepted); ``blocked`` says the person must now be locked out."""

    guard: AuthGuard
    error: KlelineError | None = None

    @property
    def blocked(self) -> bool:
        """True when this wrong code was the last one allowed."""
        return isinstance(self.error, AuthenticationBlocked)


def normalise_code(code: str) -> str:
    """A code as typed, without its spaces ("123 456" is "123456")."""
    return "".join(code.split())


def check_code(secret: str, code: str, now: datetime, guard: AuthGuard) -> CodeCheck:
    """Check ``code`` against ``secret`` at ``now``: accepted (the guard remembers its time step), or refused (the
    guard counts it; the ``MAX_FAILURES``-th in a row blocks, and the count starts again for after the lockout)."""
    step = code_matches(secret, normalise_code(code), now)
    replayed = step is not None and guard.last_accepted_step is not None and step <= guard.last_accepted_step
    if step is not None and not replayed:
        return CodeCheck(AuthGuard(0, step))
    failures = guard.consecutive_failures + 1
    if failures >= MAX_FAILURES:
        blocked = AuthenticationBlocked(f"{MAX_FAILURES} wrong codes in a row: sign-in is locked for a while")
        return CodeCheck(AuthGuard(0, guard.last_accepted_step), blocked)
    return CodeCheck(AuthGuard(failures, guard.last_accepted_step), CodeInvalid(MAX_FAILURES - failures))
