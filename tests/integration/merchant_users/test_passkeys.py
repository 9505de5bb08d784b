"""A merchant user's passkeys on each backend, answered by a software authenticator with real P-256 signatures: added
in a signed-in session (or by an owner signing in without a second factor), given at the sign-in's second step and
before a sensitive act, refused when forged, copied, another person's or spent; changes asking for a fresh second
factor; an owner's last second factor kept."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pyotp
import pytest

from kleline.merchant_users import LastSecondFactor, NoAuthenticator, SecondFactorRequired, SignInStepMissing
from kleline.wallet.passkey import (
    CeremonyExpired,
    CeremonyUnknown,
    PasskeyNameInvalid,
    PasskeyResponseInvalid,
    PasskeyTaken,
    PasskeyUnknown,
    SignCountRegressed,
)

from ...soft_authenticator import SoftAuthenticator, b64url
from .conftest import PASSWORD, PUBLIC_URL, Team, actor


def methods(team: Team, owner_email: str, action: str = "signed_in") -> list[object]:
    """How each of the shop's records of ``action`` was done, newest first (an owner reads the trail)."""
    owner = team.sign_in.check_password(None, owner_email, PASSWORD).user
    assert owner is not None
    return [r.detail.get("method") for r in team.users.activity(actor(owner)) if r.action == action]


def test_a_user_adds_a_passkey_then_gives_it_at_the_sign_ins_second_step(team: Team, device: SoftAuthenticator) -> None:
    team.member("ada@example.org", "accountant")  # no second factor: the password alone signs her in
    session = team.signed_in("ada@example.org")
    assert session.second_factor_at is None

    offer = team.passkeys.begin_registration(session)
    options = json.loads(offer.options_json)
    assert options["rp"]["id"] == "kleline.example" and options["user"]["name"] == "ada@example.org"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["authenticatorSelection"]["residentKey"] == "discouraged"  # asked for by its id, after the password
    passkey, after = team.passkeys.register(session, offer.ceremony_id, device.create(offer.options_json), " Laptop ")
    assert passkey.name == "Laptop" and passkey.transports == ("internal",)
    assert after.user is not None and after.user.passkey and after.second_factor_at == team.clock.now  # her first
    assert [p.id for p in team.passkeys.list(passkey.user_id)] == [passkey.id]

    # A later sign-in (the trail lists sign-ins by time; two in the same microsecond would come in any order).
    team.clock.advance(minutes=5)
    pending = team.sign_in.check_password(None, "ada@example.org", PASSWORD)
    assert (pending.stage, team.sign_in.next_step(pending)) == ("second_factor", "verify")
    offer = team.passkeys.begin_verification(pending)
    assert offer is not None
    assert [c["id"] for c in json.loads(offer.options_json)["allowCredentials"]] == [b64url(passkey.credential_id)]
    answer = device.get(offer.options_json)
    signed_in = team.passkeys.pass_second_factor(pending, offer.ceremony_id, answer, "198.51.100.9")
    assert signed_in.signed_in and signed_in.second_factor_at == team.clock.now
    assert team.sign_in.find(pending.token) is None  # a new token at the step up
    assert team.passkeys.list(passkey.user_id)[0].last_used_at == team.clock.now
    with pytest.raises(CeremonyUnknown):  # a ceremony is used once
        team.passkeys.pass_second_factor(pending, offer.ceremony_id, answer)

    sign_ins = team.security.sign_ins(passkey.user_id)
    assert [(s.detail.get("method"), s.address) for s in sign_ins] == [
        ("passkey", "198.51.100.9"),
        ("password", "198.51.100.4"),
    ]


def test_an_owner_signing_in_without_a_second_factor_may_register_a_passkey_instead_of_an_app(
    team: Team, device: SoftAuthenticator
) -> None:
    team.member("owner@example.org")
    pending = team.sign_in.check_password(None, "owner@example.org", PASSWORD)
    assert team.sign_in.next_step(pending) == "enrol"
    with pytest.raises(SignInStepMissing):  # nothing to verify yet
        team.passkeys.pass_second_factor(pending, "wac_0", "{}")
    assert team.passkeys.begin_verification(pending) is None

    signed_in = team.with_passkey(pending, device, "Téléphone")
    assert signed_in.signed_in and signed_in.token != pending.token
    assert signed_in.second_factor_at == team.clock.now
    assert team.sign_in.find(pending.token) is None
    assert methods(team, "owner@example.org", "passkey_added") == [None]
    again = team.sign_in.check_password(None, "owner@example.org", PASSWORD)
    assert team.sign_in.next_step(again) == "verify"  # the passkey is her second factor now


def test_a_passkey_confirms_it_is_them_before_a_sensitive_act(team: Team, device: SoftAuthenticator) -> None:
    owner = team.member("owner@example.org")
    session = team.with_passkey(team.sign_in.check_password(None, "owner@example.org", PASSWORD), device)
    team.clock.advance(minutes=16)
    assert team.sign_in.needs_second_factor_again(session)

    sign_in_offer = team.passkeys.begin_verification(team.sign_in.check_password(None, "owner@example.org", PASSWORD))
    assert sign_in_offer is not None
    with pytest.raises(CeremonyUnknown):  # a sign-in's ceremony confirms nothing
        team.passkeys.confirm_again(session, sign_in_offer.ceremony_id, device.get(sign_in_offer.options_json))

    offer = team.passkeys.begin_verification(session)
    assert offer is not None
    confirmed = team.passkeys.confirm_again(session, offer.ceremony_id, device.get(offer.options_json), "203.0.113.1")
    assert not team.sign_in.needs_second_factor_again(confirmed)
    found = team.sign_in.find(session.token)
    assert found is not None and found.second_factor_at == team.clock.now
    [record] = [r for r in team.users.activity(actor(owner)) if r.action == "second_factor_confirmed"]
    assert (record.detail, record.address) == ({"method": "passkey"}, "203.0.113.1")


def test_a_forged_a_copied_or_another_users_passkey_is_refused(team: Team, device: SoftAuthenticator) -> None:
    team.member("ada@example.org", "accountant")
    team.member("grace@example.org", "support")
    team.with_passkey(team.signed_in("ada@example.org"), device, "Ada's")
    graces = SoftAuthenticator(PUBLIC_URL)
    team.with_passkey(team.signed_in("grace@example.org"), graces, "Grace's")

    def attempt(answer: Callable[[str], str]) -> None:
        pending = team.sign_in.check_password(None, "ada@example.org", PASSWORD)
        offer = team.passkeys.begin_verification(pending)
        assert offer is not None
        team.passkeys.pass_second_factor(pending, offer.ceremony_id, answer(offer.options_json))

    with pytest.raises(PasskeyResponseInvalid):  # signed over another challenge
        attempt(lambda options: device.get(options, challenge=b64url(b"x" * 32)))
    with pytest.raises(PasskeyResponseInvalid):  # made for another site
        attempt(lambda options: device.get(options, origin="https://kleline.example.evil"))
    attempt(device.get)  # her own: its counter moves on to 1
    with pytest.raises(SignCountRegressed):  # a copy of the authenticator, its counter behind
        attempt(lambda options: device.get(options, sign_count=1))
    pending = team.sign_in.check_password(None, "ada@example.org", PASSWORD)
    offer = team.passkeys.begin_verification(pending)
    assert offer is not None
    graces_options = json.loads(offer.options_json) | {"allowCredentials": []}
    with pytest.raises(PasskeyResponseInvalid):  # Grace's passkey answering Ada's ceremony
        team.passkeys.pass_second_factor(pending, offer.ceremony_id, graces.get(json.dumps(graces_options)))
    assert team.sign_in.find(pending.token) is not None  # still waiting for Ada's second factor


def test_a_ceremony_lasts_five_minutes_and_a_passkey_is_registered_once(team: Team, device: SoftAuthenticator) -> None:
    team.member("ada@example.org", "accountant")
    session = team.signed_in("ada@example.org")
    offer = team.passkeys.begin_registration(session)
    team.clock.advance(minutes=5)
    with pytest.raises(CeremonyExpired):
        team.passkeys.register(session, offer.ceremony_id, device.create(offer.options_json), "Laptop")
    with pytest.raises(PasskeyNameInvalid):
        team.passkeys.register(session, offer.ceremony_id, "{}", " ")
    session = team.with_passkey(session, device)
    offer = team.passkeys.begin_registration(session)
    created = device.create(offer.options_json)
    team.passkeys.register(session, offer.ceremony_id, created, "Laptop, again")
    offer = team.passkeys.begin_registration(session)
    again = json.loads(created)  # the same credential, sent for a new ceremony
    again["response"]["clientDataJSON"] = json.loads(device.create(offer.options_json))["response"]["clientDataJSON"]
    with pytest.raises(PasskeyTaken):
        team.passkeys.register(session, offer.ceremony_id, json.dumps(again), "Copy")


def test_changing_second_factors_asks_for_a_fresh_one(team: Team, device: SoftAuthenticator) -> None:
    owner = team.member("owner@example.org")
    totp = team.with_authenticator(owner)
    session = team.signed_in("owner@example.org", totp)
    session = team.with_passkey(session, device)  # fresh: the code was just given
    [passkey] = team.passkeys.list(owner.id)
    team.clock.advance(minutes=16)
    with pytest.raises(SecondFactorRequired):
        team.passkeys.begin_registration(session)
    with pytest.raises(SecondFactorRequired):
        team.passkeys.remove(session, passkey.id)
    with pytest.raises(SecondFactorRequired):
        team.security.start_authenticator(session)
    with pytest.raises(SecondFactorRequired):
        team.security.remove_authenticator(session)
    session = team.sign_in.confirm_again(session, totp.at(team.clock.now))
    assert team.passkeys.remove(session, passkey.id, "203.0.113.1").id == passkey.id
    assert team.passkeys.list(owner.id) == []
    with pytest.raises(PasskeyUnknown):
        team.passkeys.remove(session, passkey.id)
    assert methods(team, "owner@example.org", "passkey_removed") == [None]


def test_an_owners_last_second_factor_stays_the_other_roles_may_remove_theirs(
    team: Team, device: SoftAuthenticator
) -> None:
    owner = team.member("owner@example.org")
    session = team.with_passkey(team.sign_in.check_password(None, "owner@example.org", PASSWORD), device)
    [passkey] = team.passkeys.list(owner.id)
    with pytest.raises(LastSecondFactor):
        team.passkeys.remove(session, passkey.id)
    with pytest.raises(NoAuthenticator):
        team.security.remove_authenticator(session)
    team.member("stranger@example.org", "accountant", merchant=team.other_shop)
    with pytest.raises(PasskeyUnknown):  # another user's passkey, of another shop: as if it did not exist
        team.passkeys.remove(team.signed_in("stranger@example.org"), passkey.id)

    enrolment = team.security.start_authenticator(session)
    session = team.security.confirm_authenticator(session, pyotp.TOTP(enrolment.secret).at(team.clock.now))
    team.passkeys.remove(session, passkey.id)  # the authenticator app is left
    with pytest.raises(LastSecondFactor):
        team.security.remove_authenticator(session)

    ada = team.member("ada@example.org", "accountant")
    ada_session = team.with_passkey(team.signed_in("ada@example.org"), SoftAuthenticator(PUBLIC_URL))
    [adas] = team.passkeys.list(ada.id)
    team.passkeys.remove(ada_session, adas.id)  # her last: an accountant may sign in with the password alone
    assert team.sign_in.next_step(team.sign_in.check_password(None, "ada@example.org", PASSWORD)) == "done"


def test_an_owner_removing_both_second_factors_at_once_keeps_one(team: Team) -> None:
    owners = [team.member(f"owner{n}@example.org") for n in range(6)]
    removals: list[Callable[[], object]] = []
    for owner in owners:  # each with an authenticator app and a passkey, removed at the same moment
        session = team.with_passkey(
            team.signed_in(owner.email, team.with_authenticator(owner)), SoftAuthenticator(PUBLIC_URL)
        )
        [passkey] = team.passkeys.list(owner.id)
        removals.append(partial(team.passkeys.remove, session, passkey.id))
        removals.append(partial(team.security.remove_authenticator, session))
    start = threading.Barrier(len(removals))

    def remove(what: Callable[[], object]) -> str:
        start.wait()
        try:
            what()
        except LastSecondFactor as refused:
            return refused.code
        return "removed"

    with ThreadPoolExecutor(len(removals)) as pool:
        outcomes = list(pool.map(remove, removals))
    assert sorted(outcomes) == ["last_second_factor"] * 6 + ["removed"] * 6  # each user's row lock: one at a time
    for owner in owners:
        app = 1 if team.security.authenticator_state(owner.id) == "confirmed" else 0
        assert len(team.passkeys.list(owner.id)) + app == 1, owner.email
