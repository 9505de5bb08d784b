"""The staff users' rules that need no database: the mandatory second factor, the last admin, invitations' states,
and the shared SQL's table names."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from kleline.identity.directory import Directory
from kleline.staff.roles import Power, Role
from kleline.staff_users.model import (
    INVITATION_LIFETIME,
    StaffInvitation,
    StaffUser,
    admin_change_refusal,
    invitation_state,
    step_after_password,
)

NOW = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)


def test_the_second_factor_is_always_asked_for_after_the_password() -> None:
    assert step_after_password(True) == "verify"
    assert step_after_password(False) == "enrol"


def test_an_authenticator_app_or_a_passkey_is_a_second_factor() -> None:
    nothing = StaffUser("st_1", "a@example.org", Role.SUPPORT, False, NOW)
    assert not nothing.has_second_factor
    assert replace(nothing, passkey=True).has_second_factor and replace(nothing, authenticator=True).has_second_factor


@pytest.mark.parametrize("new_role", [Role.COMPLIANCE, Role.FINANCE, Role.SUPPORT, None])
def test_the_last_admin_can_be_neither_demoted_nor_disabled(new_role: Role | None) -> None:
    assert admin_change_refusal(1, Role.ADMIN, new_role) is not None
    assert admin_change_refusal(2, Role.ADMIN, new_role) is None


def test_other_roles_and_an_admin_kept_admin_are_never_refused() -> None:
    assert admin_change_refusal(1, Role.ADMIN, Role.ADMIN) is None
    assert admin_change_refusal(0, Role.SUPPORT, None) is None
    assert admin_change_refusal(1, Role.FINANCE, Role.ADMIN) is None


def test_an_invitation_is_pending_until_accepted_withdrawn_or_expired() -> None:
    invitation = StaffInvitation("sti_1", "a@example.org", Role.FINANCE, "cli root", NOW, NOW + INVITATION_LIFETIME)
    assert invitation_state(invitation, NOW + INVITATION_LIFETIME - timedelta(seconds=1)) == "pending"
    assert invitation_state(invitation, NOW + INVITATION_LIFETIME) == "expired"
    assert invitation_state(replace(invitation, accepted_at=NOW), NOW + INVITATION_LIFETIME) == "accepted"
    assert invitation_state(replace(invitation, withdrawn_at=NOW), NOW) == "withdrawn"


def test_a_staff_user_acts_in_its_role_from_its_address() -> None:
    user = StaffUser("st_1", "a@example.org", Role.SUPPORT, True, NOW)
    actor = user.actor("203.0.113.7")
    assert (actor.kind, actor.id, actor.role, actor.address) == ("staff", "st_1", Role.SUPPORT, "203.0.113.7")
    assert actor.may(Power.READ) and not actor.may(Power.MANAGE_STAFF)
    assert user.status == "active"


@pytest.mark.parametrize("name", ["users; DROP TABLE x", "Users", "", "a b"])
def test_a_directory_takes_only_plain_lower_case_names(name: str) -> None:
    with pytest.raises(ValueError):
        Directory(name, "gone_at", "sessions", "passkeys", "ceremonies")
    with pytest.raises(ValueError):
        Directory("users", "gone_at", "sessions", name, "ceremonies")
