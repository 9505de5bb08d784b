"""Signing in to the console on each backend: the password as every back-office person's (one answer for every
refusal, the lockout), then always a second factor: a code, or an authenticator to set up first; wrong codes lock
the person out; sessions of their own, never a dashboard's; sign-outs and sign-ins in the staff audit trail."""

from __future__ import annotations

import pyotp
import pytest

from kleline.identity.sessions import digest
from kleline.merchant_users.session_store import find_session as find_dashboard_session
from kleline.staff.audit import AuditFilters, search
from kleline.staff.roles import Role
from kleline.staff_users import ConsoleStepMissing
from kleline.wallet.customers import REFUSED_SIGN_IN, AuthenticationFailed, SignInLocked
from kleline.wallet.sca import AuthenticationBlocked, CodeInvalid
from kleline.wallet.strong_auth import AlreadyEnrolled, EnrolmentCodeInvalid

from .conftest import ADDRESS, PASSWORD, Staff


def refusal(staff: Staff, email: str, password: str) -> tuple[str, str, int]:
    with pytest.raises(AuthenticationFailed) as refused:
        staff.sign_in.check_password(None, email, password)
    return refused.value.code, str(refused.value), refused.value.status


def test_an_unknown_address_a_wrong_password_and_a_locked_person_are_refused_alike(staff: Staff) -> None:
    staff.member("ada@example.org", Role.FINANCE)
    unknown = refusal(staff, "nobody@example.org", PASSWORD)
    malformed = refusal(staff, "not an address", PASSWORD)
    wrong = refusal(staff, "ada@example.org", "not the password")
    for attempt in range(9):
        refusal(staff, "ada@example.org", f"wrong guess {attempt}")
    with pytest.raises(SignInLocked) as locked:  # the tenth failure in a row locked it: the right password fails
        staff.sign_in.check_password(None, "ada@example.org", PASSWORD)
    assert unknown == malformed == wrong == ("invalid_credentials", REFUSED_SIGN_IN, 401)
    assert (locked.value.code, str(locked.value), locked.value.status) == unknown
    staff.clock.advance(minutes=30)
    assert staff.sign_in.check_password(None, "ada@example.org", PASSWORD).stage == "second_factor"


def test_the_password_alone_never_signs_a_person_in(staff: Staff) -> None:
    _, totp = staff.member("ada@example.org", Role.SUPPORT)
    anonymous = staff.sign_in.start()
    assert (anonymous.stage, anonymous.user) == ("anonymous", None)
    pending = staff.sign_in.check_password(anonymous, " ADA@example.org", PASSWORD, ADDRESS)
    assert (pending.stage, pending.signed_in, staff.sign_in.next_step(pending)) == ("second_factor", False, "verify")
    assert staff.sign_in.find(anonymous.token) is None  # the session before sign-in is gone (fixation)
    with pytest.raises(ConsoleStepMissing):
        staff.sign_in.enrol(pending)
    signed_in = staff.sign_in.pass_second_factor(pending, totp.at(staff.clock.now), ADDRESS)
    assert signed_in.signed_in and signed_in.second_factor_at == staff.clock.now
    assert signed_in.token != pending.token and staff.sign_in.find(pending.token) is None
    assert staff.sign_in.next_step(signed_in) == "done"
    [record] = search(staff.db, AuditFilters(action="staff_signed_in")).records[:1]
    assert (record.actor_kind, record.role, record.address, record.after) == (
        "staff", Role.SUPPORT, ADDRESS, {"method": "authenticator"},
    )  # fmt: skip


def test_a_person_without_an_authenticator_sets_one_up_before_anything_else(staff: Staff) -> None:
    pending = staff.invited("ada@example.org", Role.COMPLIANCE)
    with pytest.raises(ConsoleStepMissing):
        staff.sign_in.pass_second_factor(pending, "123456")
    first = staff.sign_in.enrol(pending)
    again = staff.sign_in.enrol(pending)  # an app never confirmed: a fresh secret replaces the first
    assert again.secret != first.secret and "Kleline" in again.provisioning_uri
    with pytest.raises(EnrolmentCodeInvalid):
        staff.sign_in.confirm_enrolment(pending, pyotp.TOTP(first.secret).at(staff.clock.now))
    # Left half-way, the set-up is asked for again at the next sign-in.
    later = staff.sign_in.check_password(None, "ada@example.org", PASSWORD)
    assert staff.sign_in.next_step(later) == "enrol"
    totp = pyotp.TOTP(again.secret)
    signed_in = staff.sign_in.confirm_enrolment(later, totp.at(staff.clock.now), ADDRESS)
    assert signed_in.signed_in and signed_in.user is not None and signed_in.user.authenticator
    with pytest.raises(AlreadyEnrolled):
        staff.sign_in.set_up_authenticator(signed_in.user.id, "ada@example.org")
    assert staff.actions(actor_id=signed_in.user.id) == [
        "staff_invitation_accepted",
        "staff_authenticator_set_up",
        "staff_signed_in",
    ]


def test_wrong_codes_are_counted_and_the_fifth_locks_the_person_out(staff: Staff) -> None:
    _, totp = staff.member("ada@example.org", Role.FINANCE)
    pending = staff.sign_in.check_password(None, "ada@example.org", PASSWORD)
    wrong = next(code for code in ("000000", "111111") if code != totp.at(staff.clock.now))
    for left in (4, 3, 2, 1):
        with pytest.raises(CodeInvalid) as refused:
            staff.sign_in.pass_second_factor(pending, wrong)
        assert refused.value.attempts_left == left
    with pytest.raises(AuthenticationBlocked):
        staff.sign_in.pass_second_factor(pending, wrong)
    assert staff.sign_in.find(pending.token) is None  # its sessions ended
    with pytest.raises(SignInLocked):
        staff.sign_in.check_password(None, "ada@example.org", PASSWORD)
    staff.clock.advance(minutes=30)
    pending = staff.sign_in.check_password(None, "ada@example.org", PASSWORD)
    assert staff.sign_in.pass_second_factor(pending, totp.at(staff.clock.now)).signed_in


def test_a_code_is_never_accepted_twice(staff: Staff) -> None:
    _, totp = staff.member("ada@example.org", Role.FINANCE)
    code = totp.at(staff.clock.now)
    staff.sign_in.pass_second_factor(staff.sign_in.check_password(None, "ada@example.org", PASSWORD), code)
    with pytest.raises(CodeInvalid):
        staff.sign_in.pass_second_factor(staff.sign_in.check_password(None, "ada@example.org", PASSWORD), code)


def test_a_console_session_is_not_a_dashboard_session(staff: Staff) -> None:
    _, totp = staff.member("ada@example.org", Role.ADMIN)
    session = staff.signed_in("ada@example.org", totp)
    with staff.db.transaction(write=False) as tx:
        assert find_dashboard_session(tx, digest(session.token), 0) is None
    assert staff.sign_in.find("") is None and staff.sign_in.find("x" * 201) is None


def test_signing_out_ends_the_session_and_is_recorded(staff: Staff) -> None:
    user, totp = staff.member("ada@example.org", Role.SUPPORT)
    session = staff.signed_in("ada@example.org", totp)
    staff.sign_in.sign_out(session, ADDRESS)
    assert staff.sign_in.find(session.token) is None
    staff.sign_in.sign_out(staff.sign_in.start())  # an anonymous session ends unrecorded
    assert staff.actions(actor_id=user.id)[-1] == "staff_signed_out"
    assert staff.actions(action="staff_signed_out") == ["staff_signed_out"]
