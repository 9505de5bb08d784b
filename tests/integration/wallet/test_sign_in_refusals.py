"""Every refused sign-in looks the same and costs the same: nobody can tell a wallet's address by its answer or time.

Time is checked by the work done rather than measured (a measure would be noise on a shared machine): each
refusal verifies exactly one argon2 hash, the expensive step, and runs the lockout's one UPDATE.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from argon2 import PasswordHasher

from kleline.bootstrap import Kleline
from kleline.wallet.customers import REFUSED_SIGN_IN, AuthenticationFailed, SignInLocked
from kleline.wallet.password_hashing import use_hasher

from ...conftest import CHEAP_PASSWORDS

PASSWORD = "correct horse battery staple"


class CountingHasher(PasswordHasher):
    """An argon2 hasher (with the suite's cheap parameters), counting its verifications."""

    verifications = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # noqa: A002 - the library's own name
        type(self).verifications += 1
        return super().verify(hash, password)


@pytest.fixture
def verifications() -> Iterator[Callable[[], int]]:
    CountingHasher.verifications = 0
    previous = use_hasher(CountingHasher.from_parameters(CHEAP_PASSWORDS))
    try:
        yield lambda: CountingHasher.verifications
    finally:
        use_hasher(previous)


def refusal(kleline: Kleline, email: str, password: str) -> AuthenticationFailed:
    with pytest.raises(AuthenticationFailed) as refused:
        kleline.customers.check_password(email, password)
    return refused.value


def lock_out(kleline: Kleline) -> None:
    for i in range(10):
        refusal(kleline, "ada@example.org", f"wrong guess {i:02d}")


@pytest.mark.parametrize(
    ("case", "email", "password"),
    [
        ("unknown email", "nobody@example.org", PASSWORD),
        ("malformed email", "not an address", PASSWORD),
        ("wrong password", "ada@example.org", "not the password"),
        ("locked account, right password", "ada@example.org", PASSWORD),
        ("locked account, wrong password", "ada@example.org", "not the password"),
    ],
)
def test_each_refusal_costs_one_argon2_verification_and_says_the_same(
    kleline: Kleline, verifications: Callable[[], int], case: str, email: str, password: str
) -> None:
    kleline.customers.sign_up("ada@example.org", PASSWORD, "Ada")
    if case.startswith("locked"):
        lock_out(kleline)
    before = verifications()
    refused = refusal(kleline, email, password)
    assert verifications() - before == 1
    assert (refused.code, refused.status, refused.detail, refused.param) == (
        "invalid_credentials",
        401,
        REFUSED_SIGN_IN,
        None,
    )
    assert isinstance(refused, SignInLocked) == case.startswith("locked")  # told apart inside, never outside
