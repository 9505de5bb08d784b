"""Kleline's staff on each backend: the first admin invited from the command line, people invited by an admin with a
role, single-use expiring links, roles changed, people disabled, the last admin kept, and every act in the staff
audit trail under who did it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kleline.staff.actor import RoleForbids, StaffActor, command_line
from kleline.staff.audit import AuditFilters, search, verify
from kleline.staff.roles import Role
from kleline.staff_users import (
    AlreadyStaff,
    ConsoleStepMissing,
    InvalidStaffUser,
    LastAdmin,
    StaffInvitationUnusable,
    StaffUserDisabled,
    invitation_problems,
)
from kleline.wallet.customers import AuthenticationFailed, InvalidCustomer

from .conftest import ADDRESS, PASSWORD, PUBLIC_URL, Staff


def test_the_first_admin_is_invited_from_the_command_line_and_must_set_up_an_authenticator(staff: Staff) -> None:
    invited = staff.team.invite(" Ada@Example.org", "admin", by=command_line())
    assert invited.url == f"{PUBLIC_URL}/console/invitations/{invited.token}" and len(invited.token) >= 40
    assert (invited.invitation.email, invited.invitation.role) == ("ada@example.org", Role.ADMIN)
    assert invited.invitation.expires_at == staff.clock.now + timedelta(hours=72)
    assert invited.invitation.invited_by.startswith("cli ")
    assert staff.team.invitation(invited.token) == invited.invitation

    session = staff.team.accept(invited.token, PASSWORD, address=ADDRESS)
    assert (session.stage, session.signed_in) == ("second_factor", False)
    assert session.expires_at == staff.clock.now + timedelta(minutes=10)
    assert session.user is not None and session.user.id.startswith("st_") and not session.user.authenticator
    assert staff.sign_in.next_step(session) == "enrol"
    assert staff.sign_in.find(session.token) == session

    [accepted, made] = search(staff.db, AuditFilters()).records
    assert (made.action, made.actor_kind, made.role, made.subject_type) == (
        "staff_invited",
        "cli",
        None,
        "staff_invitation",
    )
    assert made.subject_id == invited.invitation.id and made.after == {
        "email": "ada@example.org",
        "role": "admin",
        "expires_at": invited.invitation.expires_at.isoformat(),
    }
    assert (accepted.action, accepted.actor_kind, accepted.actor_id, accepted.role) == (
        "staff_invitation_accepted", "staff", session.user.id, Role.ADMIN,
    )  # fmt: skip
    assert (accepted.subject_type, accepted.subject_id, accepted.address) == ("staff_user", session.user.id, ADDRESS)
    assert verify(staff.db).ok


def test_an_invitation_link_works_once_until_it_expires_and_a_new_one_withdraws_the_old(staff: Staff) -> None:
    first = staff.team.invite("ada@example.org", Role.FINANCE, by=command_line())
    second = staff.team.invite("ada@example.org", Role.SUPPORT, by=command_line())
    with pytest.raises(StaffInvitationUnusable) as withdrawn:
        staff.team.invitation(first.token)
    assert withdrawn.value.reason == "withdrawn"
    staff.team.accept(second.token, PASSWORD)
    with pytest.raises(StaffInvitationUnusable) as used:
        staff.team.accept(second.token, PASSWORD)
    assert used.value.reason == "accepted"
    late = staff.team.invite("bob@example.org", Role.FINANCE, by=command_line())
    staff.clock.advance(hours=72)
    with pytest.raises(StaffInvitationUnusable) as expired:
        staff.team.accept(late.token, PASSWORD)
    assert expired.value.reason == "expired"
    for token in ("", "x" * 300, "not-a-token"):
        with pytest.raises(StaffInvitationUnusable) as unknown:
            staff.team.invitation(token)
        assert unknown.value.reason == "unknown"


def test_an_invitation_is_refused_a_bad_email_a_bad_role_a_short_password_or_a_member(staff: Staff) -> None:
    assert [p.param for p in invitation_problems("not an address", "boss")] == ["email", "role"]
    with pytest.raises(InvalidStaffUser):
        staff.team.invite("ada@example.org", "boss", by=command_line())
    staff.member("ada@example.org")
    with pytest.raises(AlreadyStaff):
        staff.team.invite("ADA@example.org", Role.SUPPORT, by=command_line())
    invited = staff.team.invite("bob@example.org", Role.SUPPORT, by=command_line())
    with pytest.raises(InvalidCustomer):
        staff.team.accept(invited.token, "short")
    assert staff.team.invitation(invited.token).email == "bob@example.org"  # still usable


def test_an_admin_invites_and_a_role_without_the_staff_power_cannot(staff: Staff) -> None:
    admin, _ = staff.member("admin@example.org")
    invited = staff.team.invite("carol@example.org", Role.COMPLIANCE, by=admin.actor(ADDRESS))
    assert invited.invitation.invited_by == f"staff {admin.id}"
    carol = staff.team.accept(invited.token, PASSWORD).user
    assert carol is not None and carol.role == Role.COMPLIANCE
    for role in (Role.COMPLIANCE, Role.FINANCE, Role.SUPPORT):
        with pytest.raises(RoleForbids):
            staff.team.invite("dan@example.org", Role.ADMIN, by=StaffActor("staff", carol.id, role, ADDRESS))
    with pytest.raises(RoleForbids):
        staff.team.change_role(carol.id, Role.ADMIN, by=carol.actor(ADDRESS))
    with pytest.raises(RoleForbids):
        staff.team.list(carol.actor(ADDRESS))
    assert [p.email for p in staff.team.list(admin.actor(ADDRESS))] == ["admin@example.org", "carol@example.org"]
    assert staff.actions(actor_id=admin.id, action="staff_invited") == ["staff_invited"]


def test_a_role_change_counts_at_once_and_is_recorded_with_before_and_after(staff: Staff) -> None:
    admin, _ = staff.member("admin@example.org")
    finance, totp = staff.member("fin@example.org", Role.FINANCE)
    session = staff.signed_in("fin@example.org", totp)
    changed = staff.team.change_role(finance.id, "support", by=admin.actor(ADDRESS))
    assert changed.role == Role.SUPPORT
    found = staff.sign_in.find(session.token)
    assert found is not None and found.user is not None and found.user.role == Role.SUPPORT
    assert staff.team.change_role(finance.id, Role.SUPPORT, by=admin.actor(ADDRESS)).role == Role.SUPPORT  # no-op
    [record] = search(staff.db, AuditFilters(action="staff_role_changed")).records
    assert (record.actor_id, record.subject_id, record.before, record.after) == (
        admin.id, finance.id, {"role": "finance"}, {"role": "support"},
    )  # fmt: skip


def test_a_disabled_person_is_signed_out_everywhere_and_can_no_longer_sign_in(staff: Staff) -> None:
    admin, _ = staff.member("admin@example.org")
    support, totp = staff.member("sup@example.org", Role.SUPPORT)
    session = staff.signed_in("sup@example.org", totp)
    disabled = staff.team.disable(support.id, by=admin.actor(ADDRESS))
    assert disabled.status == "disabled" and disabled.disabled_at == staff.clock.now
    assert staff.sign_in.find(session.token) is None
    with pytest.raises(AuthenticationFailed):
        staff.sign_in.check_password(None, "sup@example.org", PASSWORD)
    with pytest.raises(StaffUserDisabled):
        staff.team.disable(support.id, by=admin.actor(ADDRESS))
    assert [p.status for p in staff.team.list(admin.actor(ADDRESS))] == ["active", "disabled"]
    again = staff.team.invite("sup@example.org", Role.SUPPORT, by=admin.actor(ADDRESS))  # the address is free again
    assert staff.team.accept(again.token, PASSWORD).user is not None
    assert staff.actions(subject_id=support.id)[-1] == "staff_disabled"


def test_the_last_admin_can_be_neither_demoted_nor_disabled_and_a_demoted_admin_no_longer_acts(staff: Staff) -> None:
    ada, _ = staff.member("ada@example.org")
    for attempt in (
        lambda: staff.team.change_role(ada.id, Role.FINANCE, by=ada.actor(ADDRESS)),
        lambda: staff.team.disable(ada.id, by=ada.actor(ADDRESS)),
        lambda: staff.team.disable(ada.id, by=command_line()),
    ):
        with pytest.raises(LastAdmin):
            attempt()
    bob, _ = staff.member("bob@example.org")
    staff.team.change_role(ada.id, Role.FINANCE, by=bob.actor(ADDRESS))  # two admins: one may step down
    with pytest.raises(RoleForbids):
        staff.team.disable(bob.id, by=ada.actor(ADDRESS))  # re-read: no longer an admin
    with pytest.raises(LastAdmin):
        staff.team.change_role(bob.id, Role.SUPPORT, by=bob.actor(ADDRESS))
    staff.team.disable(ada.id, by=bob.actor(ADDRESS))
    assert staff.actions(action="staff_role_changed") == ["staff_role_changed"]
    assert verify(staff.db).ok


def test_a_pending_invitation_is_withdrawn_by_an_admin(staff: Staff) -> None:
    admin, _ = staff.member("admin@example.org")
    invited = staff.team.invite("eve@example.org", Role.SUPPORT, by=admin.actor(ADDRESS))
    assert [i.id for i in staff.team.invitations(admin.actor(ADDRESS))] == [invited.invitation.id]
    staff.team.withdraw(invited.invitation.id, by=admin.actor(ADDRESS))
    assert staff.team.invitations(admin.actor(ADDRESS)) == []
    with pytest.raises(StaffInvitationUnusable):
        staff.team.accept(invited.token, PASSWORD)
    with pytest.raises(ConsoleStepMissing):
        staff.sign_in.next_step(staff.sign_in.start())
