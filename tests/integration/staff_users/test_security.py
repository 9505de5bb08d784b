"""A staff user's own security on each backend: the authenticator app replaced once a code from the current one and
then one from the new one are accepted; the password changed (every problem at once, a wrong current one counted,
every other session ended); signing out everywhere; the last sign-ins; the secrets re-wrapped when the master key
rotates."""

from __future__ import annotations

import pyotp
import pytest

from kleline.config import DEVELOPMENT_MASTER_KEYS
from kleline.identity.authenticators import REPLACEMENT_WINDOW
from kleline.staff.roles import Role
from kleline.staff_users import StaffSecurity, StaffSignIn, password_change_problems
from kleline.wallet.customers import AuthenticationFailed, WrongPassword
from kleline.wallet.sca import CodeInvalid
from kleline.wallet.strong_auth import EnrolmentCodeInvalid
from kleline.wallet.vault import MasterKeys, generate_master_key

from .conftest import ADDRESS, PASSWORD, Staff

NEW_PASSWORD = "a brand new passphrase, longer"


def test_the_authenticator_app_is_replaced_only_with_codes_from_both_apps(staff: Staff) -> None:
    user, old = staff.member("ada@example.org", Role.FINANCE)
    session = staff.signed_in("ada@example.org", old)
    with pytest.raises(CodeInvalid):
        staff.security.start_replacement(session, "000000" if old.at(staff.clock.now) != "000000" else "111111")
    assert staff.security.authenticator_state(user.id) == "confirmed"
    new = pyotp.TOTP(staff.security.start_replacement(session, old.at(staff.clock.now)).secret)
    assert staff.security.authenticator_state(user.id) == "replacing"
    staff.clock.advance(seconds=30)
    with pytest.raises(EnrolmentCodeInvalid):
        staff.security.confirm_replacement(session, old.at(staff.clock.now))
    after = staff.security.confirm_replacement(session, new.at(staff.clock.now), ADDRESS)
    assert after.second_factor_at == staff.clock.now
    assert staff.security.authenticator_state(user.id) == "confirmed"
    staff.clock.advance(seconds=30)
    pending = staff.sign_in.check_password(None, "ada@example.org", PASSWORD)
    with pytest.raises(CodeInvalid):
        staff.sign_in.pass_second_factor(pending, old.at(staff.clock.now))
    assert staff.sign_in.pass_second_factor(pending, new.at(staff.clock.now)).signed_in
    assert "staff_authenticator_replaced" in staff.actions(actor_id=user.id)


def test_a_replacement_not_confirmed_in_time_leaves_the_old_app_in_place(staff: Staff) -> None:
    user, old = staff.member("ada@example.org", Role.FINANCE)
    session = staff.signed_in("ada@example.org", old)
    new = pyotp.TOTP(staff.security.start_replacement(session, old.at(staff.clock.now)).secret)
    staff.clock.advance(seconds=REPLACEMENT_WINDOW.total_seconds())
    assert staff.security.authenticator_state(user.id) == "confirmed"
    with pytest.raises(EnrolmentCodeInvalid):
        staff.security.confirm_replacement(session, new.at(staff.clock.now))


def test_the_password_is_changed_once_the_current_one_is_given_and_other_sessions_end(staff: Staff) -> None:
    user, totp = staff.member("ada@example.org", Role.SUPPORT)
    here = staff.signed_in("ada@example.org", totp)
    elsewhere = staff.signed_in("ada@example.org", totp)
    assert [p.param for p in password_change_problems("", "short", "other")] == [
        "current_password",
        "password",
        "new_password_again",
    ]
    with pytest.raises(WrongPassword):
        staff.security.change_password(here, "not it", NEW_PASSWORD, NEW_PASSWORD)
    renewed = staff.security.change_password(here, PASSWORD, NEW_PASSWORD, NEW_PASSWORD, ADDRESS)
    assert renewed.signed_in and renewed.second_factor_at == here.second_factor_at
    assert staff.sign_in.find(here.token) is None and staff.sign_in.find(elsewhere.token) is None
    assert staff.sign_in.find(renewed.token) == renewed
    with pytest.raises(AuthenticationFailed):
        staff.sign_in.check_password(None, "ada@example.org", PASSWORD)
    assert staff.sign_in.check_password(None, "ada@example.org", NEW_PASSWORD).stage == "second_factor"
    assert staff.actions(action="staff_password_changed") == ["staff_password_changed"]


def test_signing_out_everywhere_ends_every_session_and_the_last_sign_ins_are_listed(staff: Staff) -> None:
    user, totp = staff.member("ada@example.org", Role.COMPLIANCE)
    sessions = [staff.signed_in("ada@example.org", totp) for _ in range(3)]
    staff.security.sign_out_everywhere(sessions[0], ADDRESS)
    assert all(staff.sign_in.find(s.token) is None for s in sessions)
    sign_ins = staff.security.sign_ins(user.id)
    assert len(sign_ins) == 4  # three sign-ins, and the one that set up the authenticator
    assert [r.at for r in sign_ins] == sorted((r.at for r in sign_ins), reverse=True)
    assert {r.address for r in sign_ins} == {ADDRESS}
    assert staff.actions(action="staff_signed_out_everywhere") == ["staff_signed_out_everywhere"]


def test_key_rotation_rewraps_the_staff_secrets_and_replacements(staff: Staff) -> None:
    user, old = staff.member("ada@example.org", Role.ADMIN)
    session = staff.signed_in("ada@example.org", old)
    new = pyotp.TOTP(staff.security.start_replacement(session, old.at(staff.clock.now)).secret)
    keys = MasterKeys.parse(f"{generate_master_key('k2')},{DEVELOPMENT_MASTER_KEYS}")
    rotated = StaffSignIn(staff.db, keys, clock=staff.clock, session_ttl=staff.sign_in.session_ttl)
    assert rotated.rotate_keys(batch=1) == 2
    assert rotated.rotate_keys() == 0
    staff.clock.advance(seconds=30)
    pending = rotated.check_password(None, "ada@example.org", PASSWORD)
    assert rotated.pass_second_factor(pending, old.at(staff.clock.now)).signed_in  # the old app still opens
    security = StaffSecurity(staff.db, rotated, clock=staff.clock, session_ttl=rotated.session_ttl)
    security.confirm_replacement(session, new.at(staff.clock.now))  # and so does the replacement
    assert security.authenticator_state(user.id) == "confirmed"
