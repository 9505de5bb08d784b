"""Passwords' hashes: argon2id with RFC 9106's recommended parameters (the library's defaults: 64 MiB, 3 passes, 4
lanes), for customers, merchant users and staff alike, never lowered for speed.

A refusal must cost what a sign-in costs, whether the address is known or not, so each refusal without a stored hash
verifies against ``timing_equaliser()``, a hash made with the same parameters as every new one.

The test suite makes thousands of hashes: with the real parameters they took about half of its time, so it switches
to the cheapest parameters once, at its start, through ``use_hasher``; nothing else calls it, and a unit test
checks that a fresh process hashes with RFC 9106's parameters. A hash names its own parameters, so every stored hash
stays verifiable whatever the current ones are.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["hash_password", "password_matches", "timing_equaliser", "use_hasher"]


class _Hashing:
    """The hasher in use and the equaliser made with it (made on first use: hashing is slow on purpose)."""

    def __init__(self, hasher: PasswordHasher) -> None:
        self.hasher = hasher
        self._equaliser: str | None = None

    def equaliser(self) -> str:
        if self._equaliser is None:
            self._equaliser = self.hasher.hash("kleline-timing-equaliser")
        return self._equaliser


_current = _Hashing(PasswordHasher())


def use_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Hash and verify with ``hasher`` from now on, and return the one it replaces: for the test suite only (see the
    module's docstring)."""
    global _current
    previous, _current = _current.hasher, _Hashing(hasher)
    return previous


def hash_password(password: str) -> str:
    """The argon2id hash of ``password``, salted, naming its parameters."""
    return _current.hasher.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    """Whether ``password`` is the one ``password_hash`` was made from (False for a malformed hash too): one argon2
    verification, the cost every refused sign-in pays."""
    try:
        return _current.hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def timing_equaliser() -> str:
    """A hash to verify against when there is no stored one to check (an unknown address, a locked account), so
    that the refusal costs as much as a wrong password."""
    return _current.equaliser()
