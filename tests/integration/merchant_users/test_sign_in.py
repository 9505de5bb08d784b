"""Signing in to the dashboard on each backend: the password as customers' (one answer for every refusal, the
lockout), then a code, or an authenticator an owner must set up; wrong codes lock the user out; re-authentication
after 15 minutes; sealed secrets; sessions that end."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest

from kleline.config import DEVELOPMENT_MASTER_KEYS
from kleline.merchant_users import MerchantSignIn, SignInStepMissing
from kleline.merchants import Malls
from kleline.wallet.customers import REFUSED_SIGN_IN, AuthenticationFailed, SignInLocked
from kleline.wallet.sca import AuthenticationBlocked, CodeInvalid
from kleline.wallet.strong_auth import AlreadyEnrolled, EnrolmentCodeInvalid
from kleline.wallet.vault import MasterKeys, generate_master_key

from ...operator_keys import OPERATOR
from .conftest import PASSWORD, Team, actor


def refusal(team: Team, email: str, password: str) -> tuple[str, str, int]:
    with pytest.raises(AuthenticationFailed) as refused:
        team.sign_in.check_password(None, email, password)
    return refused.value.code, str(refused.value), refused.value.status


def test_an_unknown_address_a_wrong_password_and_a_locked_user_are_refused_alike(team: Team) -> None:
    team.member("ada@example.org", "accountant")
    unknown = refusal(team, "nobody@example.org", PASSWORD)
    malformed = refusal(team, "not an address", PASSWORD)
    wrong = refusal(team, "ada@example.org", "not the password")
    for attempt in range(9):
        refusal(team, "ada@example.org", f"wrong guess {attempt}")
    with pytest.raises(SignInLocked) as locked:  # the tenth failure in a row locked it: the right password fails
        team.sign_in.check_password(None, "ada@example.org", PASSWORD)
    assert unknown == malformed == wrong == ("invalid_credentials", REFUSED_SIGN_IN, 401)
    assert (locked.value.code, str(locked.value), locked.value.status) == unknown
    team.clock.advance(minutes=30)
    assert team.sign_in.check_password(None, "ada@example.org", PASSWORD).signed_in


def test_an_accountant_without_an_authenticator_is_signed_in_by_the_password(team: Team) -> None:
    ada = team.member("ada@example.org", "accountant")
    anonymous = team.sign_in.start()
    assert anonymous.stage == "anonymous" and anonymous.user is None
    session = team.sign_in.check_password(anonymous, " ADA@example.org", PASSWORD, "198.51.100.4")
    assert session.signed_in and session.user == ada and session.token != anonymous.token
    assert team.sign_in.find(anonymous.token) is None  # the session before sign-in is gone (fixation)
    found = team.sign_in.find(session.token)
    assert found == session
    assert found is not None and found.merchant is not None and found.merchant.id == ada.merchant_id
    assert team.sign_in.next_step(session) == "done"
    assert team.sign_in.needs_second_factor_again(session)  # no second factor was given in this session
    owner = team.member("owner@example.org")
    [signed_in] = [r for r in team.users.activity(actor(owner)) if r.action == "signed_in"]
    assert (signed_in.user_id, signed_in.address) == (ada.id, "198.51.100.4")


def test_a_person_who_has_just_accepted_an_invitation_is_signed_in_by_the_password_chosen(team: Team) -> None:
    """An accountant is signed in at once; an owner goes on to set up a second factor; an account made earlier
    signs in with its password like any other."""
    lou = team.member("lou@example.org", "accountant")
    before = team.sign_in.start()
    session = team.sign_in.open_for_invited(lou, before, "198.51.100.7")
    assert session.signed_in and session.user == lou and team.sign_in.find(before.token) is None
    owner = team.member("owner@example.org")
    assert team.sign_in.next_step(team.sign_in.open_for_invited(owner, None)) == "enrol"
    [signed_in] = [r for r in team.users.activity(actor(owner)) if r.action == "signed_in"]
    assert (signed_in.user_id, signed_in.detail, signed_in.address) == (lou.id, {"method": "password"}, "198.51.100.7")
    team.clock.advance(minutes=11)
    with pytest.raises(SignInStepMissing):
        team.sign_in.open_for_invited(lou, None)


def test_a_session_is_found_with_its_shop_as_it_is_now_malls_and_all(team: Team) -> None:
    ada = team.member("ada@example.org", "accountant")
    malls = Malls(team.db, clock=team.clock)
    for name in ("Galerie Nord", "Galerie Sud"):
        malls.add_merchant(
            malls.create(name, name.lower().replace(" ", "-"), actor=OPERATOR).id, team.shop, actor=OPERATOR
        )
    session = team.sign_in.check_password(team.sign_in.start(), ada.email, PASSWORD)
    found = team.sign_in.find(session.token)
    assert found is not None and found.merchant == team.merchants.get(team.shop)
    assert len(found.merchant.mall_ids) == 2
    team.merchants.approve(team.shop, actor=OPERATOR)
    team.merchants.suspend(team.shop, "checks", actor=OPERATOR)  # read with the session: no older copy is kept
    again = team.sign_in.find(session.token)
    assert again is not None and again.merchant is not None and again.merchant.status == "suspended"


def test_an_owner_without_an_authenticator_must_set_one_up_before_reaching_the_dashboard(team: Team) -> None:
    owner = team.member("owner@example.org")
    pending = team.sign_in.check_password(None, "owner@example.org", PASSWORD)
    assert (pending.stage, pending.signed_in, team.sign_in.next_step(pending)) == ("second_factor", False, "enrol")
    assert pending.expires_at == team.clock.now + timedelta(minutes=10)
    with pytest.raises(SignInStepMissing):
        team.sign_in.pass_second_factor(pending, "123456")

    enrolment = team.sign_in.enrol(pending)
    again = team.sign_in.enrol(pending)  # an app never set up: a fresh secret replaces the first
    assert again.secret != enrolment.secret
    totp = pyotp.TOTP(again.secret)
    with pytest.raises(EnrolmentCodeInvalid):
        team.sign_in.confirm_enrolment(pending, pyotp.TOTP(enrolment.secret).at(team.clock.now))
    signed_in = team.sign_in.confirm_enrolment(pending, totp.at(team.clock.now), "198.51.100.4")
    assert signed_in.signed_in and signed_in.second_factor_at == team.clock.now
    assert signed_in.user is not None and signed_in.user.authenticator
    assert team.sign_in.find(pending.token) is None
    assert not team.sign_in.needs_second_factor_again(signed_in)
    with pytest.raises(AlreadyEnrolled):
        team.sign_in.enrol(signed_in)
    actions = [r.action for r in team.users.activity(actor(owner))]
    assert {"authenticator_set_up", "signed_in"} <= set(actions)

    with team.db.transaction(write=False) as tx:
        [row] = tx.fetchall("SELECT totp_ciphertext, totp_key_id FROM merchant_users WHERE id = :id", {"id": owner.id})
    assert again.secret.encode() not in bytes(row[0]) and row[1] == "dev1"  # sealed, not stored in clear


def test_a_user_with_an_authenticator_gives_a_code_that_is_accepted_only_once(team: Team) -> None:
    grace = team.member("grace@example.org", "support", refund_limit=1000)
    totp = team.with_authenticator(grace)
    pending = team.sign_in.check_password(None, "grace@example.org", PASSWORD)
    assert team.sign_in.next_step(pending) == "verify"
    with pytest.raises(CodeInvalid) as wrong:
        team.sign_in.pass_second_factor(pending, "000000" if totp.at(team.clock.now) != "000000" else "111111")
    assert wrong.value.attempts_left == 4
    code = totp.at(team.clock.now)
    signed_in = team.sign_in.pass_second_factor(pending, f"{code[:3]} {code[3:]}")
    assert signed_in.signed_in and signed_in.second_factor_at == team.clock.now
    assert team.sign_in.find(pending.token) is None
    other = team.sign_in.check_password(None, "grace@example.org", PASSWORD)
    with pytest.raises(CodeInvalid):
        team.sign_in.pass_second_factor(other, code)  # the same code again, within its window


def test_five_wrong_codes_in_a_row_lock_the_user_out_for_a_while(team: Team) -> None:
    ada = team.member("ada@example.org")
    totp = team.with_authenticator(ada)
    wrong = "000000" if totp.at(team.clock.now) != "000000" else "111111"
    pending = team.sign_in.check_password(None, "ada@example.org", PASSWORD)
    for _ in range(4):
        with pytest.raises(CodeInvalid):
            team.sign_in.pass_second_factor(pending, wrong)
    with pytest.raises(AuthenticationBlocked):
        team.sign_in.pass_second_factor(pending, wrong)
    assert team.sign_in.find(pending.token) is None  # the session ended
    with pytest.raises(SignInLocked):
        team.sign_in.check_password(None, "ada@example.org", PASSWORD)
    team.clock.advance(minutes=30)
    pending = team.sign_in.check_password(None, "ada@example.org", PASSWORD)
    assert team.sign_in.pass_second_factor(pending, totp.at(team.clock.now)).signed_in


def test_a_second_factor_older_than_fifteen_minutes_is_given_again(team: Team) -> None:
    ada = team.member("ada@example.org")
    totp = team.with_authenticator(ada)
    pending = team.sign_in.check_password(None, "ada@example.org", PASSWORD)
    session = team.sign_in.pass_second_factor(pending, totp.at(team.clock.now))
    team.clock.advance(minutes=15)
    assert not team.sign_in.needs_second_factor_again(session)
    team.clock.advance(seconds=1)
    assert team.sign_in.needs_second_factor_again(session)
    confirmed = team.sign_in.confirm_again(session, totp.at(team.clock.now), "198.51.100.4")
    assert not team.sign_in.needs_second_factor_again(confirmed)
    found = team.sign_in.find(session.token)
    assert found is not None and found.second_factor_at == team.clock.now
    assert "second_factor_confirmed" in [r.action for r in team.users.activity(actor(ada))]


def test_re_authentication_needs_a_signed_in_session_with_an_authenticator(team: Team) -> None:
    team.member("ada@example.org", "accountant")
    session = team.sign_in.check_password(None, "ada@example.org", PASSWORD)
    with pytest.raises(SignInStepMissing):
        team.sign_in.confirm_again(session, "123456")
    enrolment = team.sign_in.enrol(session)  # a signed-in user without one may set one up
    signed_in = team.sign_in.confirm_enrolment(session, pyotp.TOTP(enrolment.secret).at(team.clock.now))
    assert signed_in.signed_in and not team.sign_in.needs_second_factor_again(signed_in)


def test_signing_out_ends_the_session_and_is_recorded(team: Team) -> None:
    owner = team.member("owner@example.org")
    ada = team.member("ada@example.org", "accountant")
    session = team.sign_in.check_password(None, "ada@example.org", PASSWORD)
    team.clock.advance(seconds=1)
    team.sign_in.sign_out(session, "198.51.100.4")
    assert team.sign_in.find(session.token) is None
    latest = team.users.activity(actor(owner))[0]
    assert (latest.action, latest.user_id) == ("signed_out", ada.id)
    assert team.sign_in.find("") is None and team.sign_in.find("x" * 500) is None


def test_sessions_expire(team: Team) -> None:
    team.member("ada@example.org", "accountant")
    owner_pending = team.sign_in.check_password(None, "ada@example.org", PASSWORD)
    team.clock.advance(hours=1)
    assert team.sign_in.find(owner_pending.token) is None


def test_rotating_master_keys_rewraps_the_users_secrets(team: Team) -> None:
    ada = team.member("ada@example.org")
    totp = team.with_authenticator(ada)
    assert team.sign_in.rotate_keys() == 0  # already under the active key
    rotated = MerchantSignIn(
        team.db,
        MasterKeys.parse(f"{generate_master_key('k2')},{DEVELOPMENT_MASTER_KEYS}"),
        clock=team.clock,
        session_ttl=timedelta(hours=1),
    )
    assert rotated.rotate_keys() == 1 and rotated.rotate_keys() == 0
    with team.db.transaction(write=False) as tx:
        assert tx.fetchone("SELECT totp_key_id FROM merchant_users WHERE id = :id", {"id": ada.id})[0] == "k2"
    pending = rotated.check_password(None, "ada@example.org", PASSWORD)
    assert rotated.pass_second_factor(pending, totp.at(team.clock.now)).signed_in  # the secret opens under k2


def test_a_code_for_a_session_that_ended_meanwhile_signs_nobody_in(team: Team) -> None:
    ada = team.member("ada@example.org")
    totp = team.with_authenticator(ada)
    pending = team.sign_in.check_password(None, "ada@example.org", PASSWORD)
    team.sign_in.sign_out(pending)
    with pytest.raises(SignInStepMissing):
        team.sign_in.pass_second_factor(pending, totp.at(team.clock.now))
    with team.db.transaction(write=False) as tx:
        assert tx.fetchone("SELECT COUNT(*) FROM merchant_sessions")[0] == 0
