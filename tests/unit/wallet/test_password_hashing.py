"""Passwords are hashed with RFC 9106's recommended argon2id parameters in Kleline's own processes: the suite's cheap
parameters (tests/conftest.py) never reach them."""

from __future__ import annotations

import subprocess
import sys

from argon2 import PasswordHasher, Type
from argon2.profiles import RFC_9106_LOW_MEMORY

from kleline.wallet.password_hashing import hash_password, password_matches, timing_equaliser, use_hasher


def test_a_fresh_process_hashes_with_rfc_9106_parameters() -> None:
    made = subprocess.run(
        [sys.executable, "-c", "from kleline.wallet.password_hashing import hash_password; print(hash_password('x'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    p = RFC_9106_LOW_MEMORY
    assert made.startswith(f"$argon2id$v=19$m={p.memory_cost},t={p.time_cost},p={p.parallelism}$")
    assert (p.memory_cost, p.time_cost, p.parallelism) == (65536, 3, 4)


def test_a_hash_stays_verifiable_after_the_parameters_change() -> None:
    made = hash_password("correct horse battery staple")
    previous = use_hasher(PasswordHasher(time_cost=2, memory_cost=16, parallelism=1, type=Type.ID))
    try:
        assert password_matches(made, "correct horse battery staple")
        assert not password_matches(made, "wrong horse battery staple")
        assert "m=16,t=2,p=1" in timing_equaliser()  # the equaliser follows the parameters in use
    finally:
        use_hasher(previous)


def test_a_malformed_hash_matches_nothing() -> None:
    assert not password_matches("not a hash", "anything")
