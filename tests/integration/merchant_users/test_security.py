"""A merchant user's own security on each backend: an authenticator app replaced only once the new one's code is
accepted, or removed; the password changed (every problem at once, a wrong current one counted, every other session
ended); signing out everywhere; the last sign-ins; the replacement's secret re-wrapped with the others."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest

from kleline.config import DEVELOPMENT_MASTER_KEYS
from kleline.merchant_users import MerchantSecurity, MerchantSignIn, SignInStepMissing, password_change_problems
from kleline.merchant_users.security import REPLACEMENT_WINDOW
from kleline.wallet.customers import AuthenticationFailed, SignInLocked, WrongPassword
from kleline.wallet.sca import CodeInvalid
from kleline.wallet.strong_auth import EnrolmentCodeInvalid
from kleline.wallet.vault import MasterKeys, generate_master_key

from .conftest import PASSWORD, Team, actor

NEW_PASSWORD = "a brand new passphrase, longer"


def actions(team: Team, email: str) -> list[str]:
    owner = team.member("owner@example.org") if email != "owner@example.org" else None
    reader = owner or team.sign_in.check_password(None, email, PASSWORD).user
    assert reader is not None
    return [r.action for r in team.users.activity(actor(reader))]


def test_an_authenticator_app_is_replaced_only_once_a_code_from_the_new_one_is_accepted(team: Team) -> None:
    ada = team.member("ada@example.org", "support", refund_limit=1000)
    old = team.with_authenticator(ada)
    session = team.signed_in("ada@example.org", old)

    new = pyotp.TOTP(team.security.start_authenticator(session).secret)
    assert team.security.authenticator_state(ada.id) == "replacing"
    elsewhere = team.sign_in.check_password(None, "ada@example.org", PASSWORD)
    assert team.sign_in.pass_second_factor(elsewhere, old.at(team.clock.now)).signed_in  # the old app still works
    team.clock.advance(seconds=30)
    with pytest.raises(EnrolmentCodeInvalid):
        team.security.confirm_authenticator(session, old.at(team.clock.now))  # the old app's code confirms nothing

    confirmed = team.security.confirm_authenticator(session, new.at(team.clock.now), "198.51.100.4")
    assert confirmed.second_factor_at == team.clock.now
    assert team.security.authenticator_state(ada.id) == "confirmed"
    pending = team.sign_in.check_password(None, "ada@example.org", PASSWORD)
    with pytest.raises(CodeInvalid):
        team.sign_in.pass_second_factor(pending, new.at(team.clock.now))  # the confirming code is spent
    team.clock.advance(seconds=30)
    with pytest.raises(CodeInvalid):
        team.sign_in.pass_second_factor(pending, old.at(team.clock.now))  # the old app no longer signs in
    assert team.sign_in.pass_second_factor(pending, new.at(team.clock.now)).signed_in
    assert "authenticator_replaced" in actions(team, "ada@example.org")


def test_a_replacement_not_confirmed_within_ten_minutes_must_start_again(team: Team) -> None:
    ada = team.member("ada@example.org", "accountant")
    old = team.with_authenticator(ada)
    session = team.signed_in("ada@example.org", old)
    new = pyotp.TOTP(team.security.start_authenticator(session).secret)
    assert REPLACEMENT_WINDOW == timedelta(minutes=10)
    team.clock.advance(minutes=10)
    assert team.security.authenticator_state(ada.id) == "confirmed"  # the old one, still
    with pytest.raises(EnrolmentCodeInvalid):
        team.security.confirm_authenticator(session, new.at(team.clock.now))


def test_a_user_without_an_app_sets_one_up_and_an_accountant_may_remove_it(team: Team) -> None:
    ada = team.member("ada@example.org", "accountant")
    session = team.signed_in("ada@example.org")
    totp = pyotp.TOTP(team.security.start_authenticator(session).secret)
    assert team.security.authenticator_state(ada.id) == "pending"  # a first app, not a replacement
    session = team.security.confirm_authenticator(session, totp.at(team.clock.now))
    assert session.user is not None and session.user.authenticator
    team.security.remove_authenticator(session, "198.51.100.4")
    assert team.sign_in.next_step(team.sign_in.check_password(None, "ada@example.org", PASSWORD)) == "done"
    assert {"authenticator_set_up", "authenticator_removed"} <= set(actions(team, "ada@example.org"))


def test_a_password_change_reports_every_problem_then_ends_every_other_session(team: Team) -> None:
    ada = team.member("ada@example.org", "accountant")
    session = team.signed_in("ada@example.org")
    other = team.signed_in("ada@example.org")
    problems = password_change_problems("", "short", "shorter")
    assert [p.param for p in problems] == ["current_password", "password", "new_password_again"]
    assert password_change_problems(PASSWORD, NEW_PASSWORD, NEW_PASSWORD) == []
    with pytest.raises(WrongPassword):
        team.security.change_password(session, "not the password", NEW_PASSWORD, NEW_PASSWORD)

    renewed = team.security.change_password(session, PASSWORD, NEW_PASSWORD, NEW_PASSWORD, "198.51.100.4")
    assert renewed.signed_in and renewed.token != session.token
    assert renewed.second_factor_at == session.second_factor_at
    assert team.sign_in.find(session.token) is None and team.sign_in.find(other.token) is None
    assert team.sign_in.find(renewed.token) is not None
    with pytest.raises(AuthenticationFailed):
        team.sign_in.check_password(None, "ada@example.org", PASSWORD)
    assert team.sign_in.check_password(None, "ada@example.org", NEW_PASSWORD).user == ada
    assert "password_changed" in actions(team, "ada@example.org")


def test_wrong_current_passwords_count_toward_the_lockout(team: Team) -> None:
    team.member("ada@example.org", "accountant")
    session = team.signed_in("ada@example.org")
    for attempt in range(10):
        with pytest.raises(WrongPassword):
            team.security.check_current_password(session, f"guess {attempt}")
    with pytest.raises(WrongPassword):  # locked: even the right one is refused for a while
        team.security.check_current_password(session, PASSWORD)
    with pytest.raises(SignInLocked):
        team.sign_in.check_password(None, "ada@example.org", PASSWORD)
    team.clock.advance(minutes=30)
    team.security.check_current_password(session, PASSWORD)


def test_signing_out_everywhere_ends_every_session_this_one_too(team: Team) -> None:
    team.member("ada@example.org", "accountant")
    here, there = team.signed_in("ada@example.org"), team.signed_in("ada@example.org")
    team.security.sign_out_everywhere(here, "198.51.100.4")
    assert team.sign_in.find(here.token) is None and team.sign_in.find(there.token) is None
    with pytest.raises(SignInStepMissing):
        team.security.sign_out_everywhere(team.sign_in.start())
    assert "signed_out_everywhere" in actions(team, "ada@example.org")


def test_the_last_sign_ins_are_the_users_own_newest_first(team: Team) -> None:
    ada = team.member("ada@example.org", "accountant")
    team.member("grace@example.org", "accountant")
    for address in ("198.51.100.1", "198.51.100.2"):
        team.sign_in.check_password(None, "ada@example.org", PASSWORD, address)
        team.clock.advance(seconds=1)
    team.sign_in.check_password(None, "grace@example.org", PASSWORD, "203.0.113.9")
    shown = team.security.sign_ins(ada.id)
    assert [(s.address, s.detail) for s in shown] == [
        ("198.51.100.2", {"method": "password"}),
        ("198.51.100.1", {"method": "password"}),
    ]
    assert len(team.security.sign_ins(ada.id, limit=1)) == 1


def test_rotating_master_keys_rewraps_a_replacement_being_set_up(team: Team) -> None:
    ada = team.member("ada@example.org", "accountant")
    session = team.signed_in("ada@example.org", team.with_authenticator(ada))
    new = pyotp.TOTP(team.security.start_authenticator(session).secret)
    entry = generate_master_key("k2")
    rotated = MasterKeys.parse(f"{entry},{DEVELOPMENT_MASTER_KEYS}")  # k2 active, the old key still readable
    sign_in = MerchantSignIn(team.db, rotated, clock=team.clock, session_ttl=team.sign_in.session_ttl)
    assert sign_in.rotate_keys() == 2  # the confirmed app and its replacement
    only_k2 = MasterKeys.parse(entry)  # the old key retired
    security = MerchantSecurity(team.db, only_k2, clock=team.clock, session_ttl=team.sign_in.session_ttl)
    assert security.confirm_authenticator(session, new.at(team.clock.now)).user is not None
