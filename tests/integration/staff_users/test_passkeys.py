"""A staff user's passkeys on each backend, answered by a software authenticator with real P-256 signatures: added
from a signed-in session whose second factor is fresh, or as a new staff member's first (and mandatory) second
factor; given at the sign-in's second step; refused when another person's or spent; the last second factor kept;
each act in the staff audit trail."""

from __future__ import annotations

import json

import pyotp
import pytest

from kleline.staff.roles import Role
from kleline.staff_users import ConsoleStepMissing, LastSecondFactor, SecondFactorStale
from kleline.wallet.passkey import CeremonyUnknown, PasskeyResponseInvalid, PasskeyUnknown
from kleline.wallet.strong_auth import AlreadyEnrolled

from ...soft_authenticator import SoftAuthenticator, b64url
from .conftest import ADDRESS, PASSWORD, Staff


def test_a_staff_member_adds_a_passkey_then_signs_in_with_it(staff: Staff, device: SoftAuthenticator) -> None:
    user, totp = staff.member("ada@kleline.example")
    session = staff.signed_in("ada@kleline.example", totp)

    offer = staff.passkeys.begin_registration(session)
    options = json.loads(offer.options_json)
    assert options["rp"]["id"] == "kleline.example" and options["user"]["name"] == "ada@kleline.example"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    passkey, after = staff.passkeys.register(session, offer.ceremony_id, device.create(offer.options_json), " Laptop ")
    assert passkey.name == "Laptop" and after.user is not None and after.user.passkey
    assert [p.id for p in staff.passkeys.list(user.id)] == [passkey.id]

    staff.clock.advance(minutes=5)
    pending = staff.sign_in.check_password(None, "ada@kleline.example", PASSWORD, ADDRESS)
    assert staff.sign_in.next_step(pending) == "verify"
    offer = staff.passkeys.begin_sign_in(pending)
    assert offer is not None
    assert [c["id"] for c in json.loads(offer.options_json)["allowCredentials"]] == [b64url(passkey.credential_id)]
    answer = device.get(offer.options_json)
    signed_in = staff.passkeys.pass_second_factor(pending, offer.ceremony_id, answer, "198.51.100.9")
    assert signed_in.signed_in and signed_in.second_factor_at == staff.clock.now
    assert staff.sign_in.find(pending.token) is None  # a new token at the step up
    assert staff.passkeys.list(user.id)[0].last_used_at == staff.clock.now
    with pytest.raises(CeremonyUnknown):  # a ceremony is used once
        staff.passkeys.pass_second_factor(pending, offer.ceremony_id, answer)

    assert staff.actions(actor_id=user.id)[-2:] == ["staff_passkey_added", "staff_signed_in"]
    last = staff.security.sign_ins(user.id)[0]
    assert (last.after or {}).get("method") == "passkey" and last.address == "198.51.100.9"


def test_a_new_staff_member_may_set_up_a_passkey_as_the_mandatory_second_factor(
    staff: Staff, device: SoftAuthenticator
) -> None:
    pending = staff.invited("new@kleline.example", Role.SUPPORT)
    assert staff.sign_in.next_step(pending) == "enrol"
    with pytest.raises(ConsoleStepMissing):  # nothing to give yet
        staff.passkeys.begin_sign_in(pending)
    offer = staff.passkeys.begin_registration(pending)
    passkey, signed_in = staff.passkeys.register(pending, offer.ceremony_id, device.create(offer.options_json), "Key")
    assert signed_in.signed_in and signed_in.token != pending.token and staff.sign_in.find(pending.token) is None
    assert signed_in.user is not None and signed_in.user.has_second_factor and not signed_in.user.authenticator
    actions = staff.actions(actor_id=passkey.user_id)
    assert actions[-2:] == ["staff_passkey_added", "staff_signed_in"]

    # Next time, the passkey is the second step; an authenticator's code is not asked for.
    staff.clock.advance(minutes=1)
    again = staff.sign_in.check_password(None, "new@kleline.example", PASSWORD, ADDRESS)
    assert staff.sign_in.next_step(again) == "verify"
    with pytest.raises(ConsoleStepMissing):
        staff.passkeys.begin_registration(again)  # only a person without any second factor registers here
    offer = staff.passkeys.begin_sign_in(again)
    assert offer is not None
    assert staff.passkeys.pass_second_factor(again, offer.ceremony_id, device.get(offer.options_json)).signed_in


def test_the_last_second_factor_stays_and_changes_want_a_fresh_one(staff: Staff, device: SoftAuthenticator) -> None:
    pending = staff.invited("solo@kleline.example")
    offer = staff.passkeys.begin_registration(pending)
    first, session = staff.passkeys.register(pending, offer.ceremony_id, device.create(offer.options_json), "One")
    with pytest.raises(LastSecondFactor):
        staff.passkeys.remove(session, first.id)
    offer = staff.passkeys.begin_registration(session)
    second, session = staff.passkeys.register(session, offer.ceremony_id, device.create(offer.options_json), "Two")
    with pytest.raises(PasskeyUnknown):
        staff.passkeys.remove(session, "pk_nobodys")
    assert staff.passkeys.remove(session, first.id, ADDRESS).id == first.id
    assert [p.name for p in staff.passkeys.list(first.user_id)] == ["Two"]
    assert staff.actions(actor_id=first.user_id)[-1] == "staff_passkey_removed"

    staff.clock.advance(minutes=16)  # a session left open may not swap passkeys
    assert not staff.passkeys.may_change(session)
    with pytest.raises(SecondFactorStale):
        staff.passkeys.begin_registration(session)
    with pytest.raises(SecondFactorStale):
        staff.passkeys.remove(session, second.id)


def test_another_persons_passkey_is_refused(staff: Staff, device: SoftAuthenticator) -> None:
    ada, ada_totp = staff.member("ada@kleline.example")
    bob, bob_totp = staff.member("bob@kleline.example")
    for email, totp in (("ada@kleline.example", ada_totp), ("bob@kleline.example", bob_totp)):
        session = staff.signed_in(email, totp)
        offer = staff.passkeys.begin_registration(session)
        staff.passkeys.register(session, offer.ceremony_id, device.create(offer.options_json), email[:3])
    pending = staff.sign_in.check_password(None, "ada@kleline.example", PASSWORD)
    offer = staff.passkeys.begin_sign_in(pending)
    assert offer is not None
    bobs = staff.passkeys.list(bob.id)[0]
    options = json.loads(offer.options_json)
    options["allowCredentials"] = [{"type": "public-key", "id": b64url(bobs.credential_id)}]
    with pytest.raises(PasskeyResponseInvalid):
        staff.passkeys.pass_second_factor(pending, offer.ceremony_id, device.get(json.dumps(options)))
    assert staff.sign_in.find(pending.token) is not None  # still waiting at the second step
    assert staff.passkeys.list(ada.id)[0].last_used_at is None


def test_a_person_whose_second_factor_is_a_passkey_may_set_up_an_app_beside_it(
    staff: Staff, device: SoftAuthenticator
) -> None:
    pending = staff.invited("keys@kleline.example")
    offer = staff.passkeys.begin_registration(pending)
    passkey, session = staff.passkeys.register(pending, offer.ceremony_id, device.create(offer.options_json), "Key")
    assert staff.security.authenticator_state(passkey.user_id) == "none"

    enrolment = staff.security.start_authenticator(session)
    totp = pyotp.TOTP(enrolment.secret)
    session = staff.security.confirm_replacement(session, totp.at(staff.clock.now), ADDRESS)
    assert staff.security.authenticator_state(passkey.user_id) == "confirmed"
    assert staff.actions(actor_id=passkey.user_id)[-1] == "staff_authenticator_set_up"
    with pytest.raises(AlreadyEnrolled):
        staff.security.start_authenticator(session)
    staff.passkeys.remove(session, passkey.id)  # the app is left: no longer the last second factor

    staff.clock.advance(minutes=16)
    with pytest.raises(SecondFactorStale):
        staff.security.start_authenticator(session)
