"""The merchant users' pure rules: the permission table, refunds up to a limit, the last owner, the sign-in steps,
re-authentication and the changes of second factors, an invitation's life, and a code's check against the guard."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from kleline.merchant_users.model import (
    ACTIONS,
    INVITATION_LIFETIME,
    PERMISSIONS,
    REAUTHENTICATION,
    ROLES,
    Invitation,
    MerchantPasskey,
    MerchantUser,
    can,
    invitation_state,
    may_change_second_factors,
    may_refund,
    needs_second_factor_again,
    second_factor_removal_refusal,
    step_after_password,
    team_change_refusal,
)
from kleline.merchant_users.second_factor import check_code, normalise_code
from kleline.money import Money
from kleline.wallet.sca import MAX_FAILURES, AuthenticationBlocked, AuthGuard, CodeInvalid

NOW = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)

EXPECTED = {
    # action:        owner  accountant  support
    "read": (True, True, True),
    "statements": (True, True, False),
    "exports": (True, True, False),
    "refund": (True, False, True),
    "capture": (True, False, False),
    "invite": (True, False, False),
    "manage_users": (True, False, False),
    "keys": (True, False, False),
    "settings": (True, False, False),
    "activity": (True, False, False),
    "offers": (True, False, False),
}


@pytest.mark.parametrize("action", ACTIONS)
def test_the_permission_table_gives_each_role_exactly_its_actions(action: str) -> None:
    assert tuple(can(role, action) for role in ("owner", "accountant", "support")) == EXPECTED[action]


def test_the_table_names_every_action_and_every_role() -> None:
    assert set(EXPECTED) == set(ACTIONS)
    assert set(PERMISSIONS) == set(ROLES)
    assert PERMISSIONS["owner"] == frozenset(ACTIONS)


def test_an_unknown_role_may_do_nothing_and_an_unknown_action_is_a_mistake() -> None:
    assert not any(can("operator", action) for action in ACTIONS)
    assert not can("", "read")
    with pytest.raises(ValueError, match="unknown action 'refunds'"):
        can("owner", "refunds")


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


def test_an_owner_refunds_any_amount_and_an_accountant_none() -> None:
    assert may_refund("owner", None, eur(10_000_000))
    assert may_refund("owner", None, Money(500, "USD"))
    assert not may_refund("accountant", None, eur(1))
    assert not may_refund("accountant", 5000, eur(1))


def test_a_support_user_refunds_up_to_its_limit_in_euros_only() -> None:
    assert may_refund("support", 5000, eur(5000))
    assert may_refund("support", 5000, eur(1))
    assert not may_refund("support", 5000, eur(5001))
    assert not may_refund("support", 0, eur(1))
    assert not may_refund("support", None, eur(1))
    assert not may_refund("support", 5000, Money(100, "USD"))  # limits are never converted
    assert not may_refund("support", 5000, eur(0))


def test_the_last_owner_can_be_neither_removed_nor_demoted() -> None:
    assert team_change_refusal(1, "owner", None) is not None
    assert team_change_refusal(1, "owner", "accountant") is not None
    assert team_change_refusal(1, "owner", "owner") is None
    assert team_change_refusal(2, "owner", None) is None
    assert team_change_refusal(2, "owner", "support") is None
    assert team_change_refusal(1, "support", None) is None
    assert team_change_refusal(1, "accountant", "owner") is None


def test_after_the_password_a_second_factor_a_new_one_for_an_owner_or_nothing() -> None:
    assert step_after_password("owner", True) == "verify"
    assert step_after_password("support", True) == "verify"
    assert step_after_password("owner", False) == "enrol"
    assert step_after_password("accountant", False) == "done"
    assert step_after_password("support", False) == "done"


def test_a_second_factor_is_an_authenticator_app_or_a_passkey() -> None:
    user = MerchantUser("mu_1", "mer_1", "ada@example.org", "Ada", "owner", None, False, NOW)
    assert not user.has_second_factor
    assert replace(user, authenticator=True).has_second_factor
    assert replace(user, passkey=True).has_second_factor
    key = MerchantPasskey("pk_1", "mu_1", b"credential", b"key", 0, "YubiKey", ("usb",), NOW)
    assert key.user_handle == b"mu_1"  # the user's id, never a customer's: the two kinds of passkey never mix


def test_second_factors_change_after_a_fresh_one_unless_there_is_none_yet() -> None:
    assert may_change_second_factors(False, None, NOW)  # nothing to prove with: the first one is added freely
    assert not may_change_second_factors(True, None, NOW)
    assert may_change_second_factors(True, NOW - timedelta(minutes=15), NOW)
    assert not may_change_second_factors(True, NOW - timedelta(minutes=15, seconds=1), NOW)


def test_an_owner_keeps_a_second_factor_the_other_roles_may_remove_their_last() -> None:
    assert second_factor_removal_refusal("owner", 0) is not None
    assert second_factor_removal_refusal("owner", 1) is None
    assert second_factor_removal_refusal("accountant", 0) is None
    assert second_factor_removal_refusal("support", 0) is None


def test_a_second_factor_older_than_fifteen_minutes_is_asked_again() -> None:
    assert REAUTHENTICATION == timedelta(minutes=15)
    assert needs_second_factor_again(None, NOW)
    assert not needs_second_factor_again(NOW, NOW)
    assert not needs_second_factor_again(NOW - timedelta(minutes=15), NOW)
    assert needs_second_factor_again(NOW - timedelta(minutes=15, seconds=1), NOW)


def invitation(**changes: object) -> Invitation:
    fields: dict[str, object] = {
        "id": "inv_1",
        "merchant_id": "mer_1",
        "email": "ada@example.org",
        "role": "accountant",
        "refund_limit": None,
        "invited_by": None,
        "created_at": NOW,
        "expires_at": NOW + INVITATION_LIFETIME,
    }
    fields.update(changes)
    return Invitation(**fields)  # type: ignore[arg-type]


def test_an_invitation_is_pending_for_72_hours_then_expires() -> None:
    assert INVITATION_LIFETIME == timedelta(hours=72)
    assert invitation_state(invitation(), NOW) == "pending"
    assert invitation_state(invitation(), NOW + timedelta(hours=71, minutes=59)) == "pending"
    assert invitation_state(invitation(), NOW + timedelta(hours=72)) == "expired"


def test_an_accepted_or_withdrawn_invitation_says_so_even_once_expired() -> None:
    later = NOW + timedelta(days=10)
    assert invitation_state(invitation(accepted_at=NOW), later) == "accepted"
    assert invitation_state(invitation(withdrawn_at=NOW), later) == "withdrawn"


SECRET = pyotp.random_base32()
TOTP = pyotp.TOTP(SECRET)


def test_a_right_code_is_accepted_once_and_remembered() -> None:
    accepted = check_code(SECRET, TOTP.at(NOW), NOW, AuthGuard(2, None))
    assert accepted.error is None and not accepted.blocked
    assert accepted.guard == AuthGuard(0, TOTP.timecode(NOW))
    replayed = check_code(SECRET, TOTP.at(NOW), NOW + timedelta(seconds=20), accepted.guard)
    assert isinstance(replayed.error, CodeInvalid)  # a code seen once cannot be used again


def test_a_code_typed_with_spaces_is_read_without_them() -> None:
    code = TOTP.at(NOW)
    assert normalise_code(f" {code[:3]} {code[3:]} ") == code
    assert check_code(SECRET, f"{code[:3]} {code[3:]}", NOW, AuthGuard()).error is None


def test_wrong_codes_count_down_then_block_and_the_count_starts_again() -> None:
    guard = AuthGuard()
    for left in range(MAX_FAILURES - 1, 0, -1):
        checked = check_code(SECRET, "000000" if TOTP.at(NOW) != "000000" else "111111", NOW, guard)
        assert isinstance(checked.error, CodeInvalid) and checked.error.attempts_left == left
        guard = checked.guard
    blocked = check_code(SECRET, "not a code", NOW, guard)
    assert isinstance(blocked.error, AuthenticationBlocked) and blocked.blocked
    assert blocked.guard == AuthGuard(0, None)
