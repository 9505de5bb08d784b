"""The sign-in lockout is counted before a password is checked, atomically: parallel guesses cannot outrun it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from kleline.bootstrap import Kleline
from kleline.wallet.customers import AuthenticationFailed, SignInLocked

from ...conftest import FakeClock

PASSWORD = "correct horse battery staple"


def attempt(kleline: Kleline, password: str) -> str:
    try:
        kleline.customers.check_password("ada@example.org", password)
    except SignInLocked:
        return "locked"
    except AuthenticationFailed:
        return "wrong"
    return "right"


def test_forty_parallel_wrong_passwords_get_exactly_the_limit_checked(kleline: Kleline) -> None:
    kleline.customers.sign_up("ada@example.org", PASSWORD, "Ada")
    with ThreadPoolExecutor(40) as guessers:
        outcomes = list(guessers.map(lambda i: attempt(kleline, f"guess number {i:04d}"), range(40)))
    assert outcomes.count("wrong") == 10  # KLELINE_SIGN_IN_LOCKOUT_FAILURES: checked, then locked
    assert outcomes.count("locked") == 30
    assert attempt(kleline, PASSWORD) == "locked"  # even the right password waits for the lock to lapse


def test_the_right_password_clears_the_count_and_the_lock_its_own_attempt_set(kleline: Kleline) -> None:
    kleline.customers.sign_up("ada@example.org", PASSWORD, "Ada")
    assert [attempt(kleline, f"guess {i:04d}") for i in range(9)] == ["wrong"] * 9
    assert attempt(kleline, PASSWORD) == "right"  # the 10th attempt, counted before its check, then cleared
    assert [attempt(kleline, f"again {i:04d}") for i in range(9)] == ["wrong"] * 9


def test_the_lock_lapses_after_the_lockout(kleline: Kleline, clock: FakeClock) -> None:
    kleline.customers.sign_up("ada@example.org", PASSWORD, "Ada")
    assert [attempt(kleline, f"guess {i:04d}") for i in range(11)] == ["wrong"] * 10 + ["locked"]
    clock.advance(minutes=30, seconds=1)
    assert attempt(kleline, PASSWORD) == "right"
