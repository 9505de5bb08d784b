"""Passkeys through the wallet's services, answered by a software authenticator with real P-256 signatures."""

from __future__ import annotations

import json

import pytest

from kleline.bootstrap import Kleline
from kleline.errors import KlelineError
from kleline.money import Money
from kleline.wallet import passkey_store, sca_store
from kleline.wallet.passkey import (
    CeremonyExpired,
    CeremonyUnknown,
    PasskeyProof,
    PasskeyResponseInvalid,
    PasskeyTaken,
    PasskeyUnknown,
    SignCountRegressed,
)
from kleline.wallet.passkeys import bound_challenge
from kleline.wallet.sca import AuthenticationBlocked, ChallengeMismatch
from kleline.wallet.strong_auth import EnrolmentRequired

from ...conftest import FakeClock
from ...e2e.checkout_world import card, customer, fund, payment, shop
from ...soft_authenticator import SoftAuthenticator, b64url, unb64url

ORIGIN = "http://127.0.0.1:8000"  # the default public_url


def register(kleline: Kleline, customer_id: str, device: SoftAuthenticator, name: str = "Phone") -> str:
    offer = kleline.passkeys.begin_registration(customer_id)
    return kleline.passkeys.register(customer_id, offer.ceremony_id, device.create(offer.options_json), name).id


def test_a_registered_passkey_signs_its_owner_in_once_per_ceremony(kleline: Kleline) -> None:
    ada = customer(kleline)
    device = SoftAuthenticator(ORIGIN)
    passkey_id = register(kleline, ada.id, device, "  Ada's   phone ")

    [passkey] = kleline.passkeys.list(ada.id)
    assert (passkey.id, passkey.name, passkey.transports, passkey.sign_count) == (
        passkey_id,
        "Ada's phone",
        ("internal",),
        0,
    )

    offer = kleline.passkeys.begin_sign_in()
    options = json.loads(offer.options_json)
    assert options["allowCredentials"] == [] and options["userVerification"] == "required"
    response = device.get(offer.options_json)
    assert kleline.passkeys.sign_in(offer.ceremony_id, response) == ada.id
    assert kleline.passkeys.list(ada.id)[0].sign_count == 1
    assert kleline.passkeys.list(ada.id)[0].last_used_at is not None

    with pytest.raises(CeremonyUnknown):  # the same response again: its ceremony is spent
        kleline.passkeys.sign_in(offer.ceremony_id, response)


def test_a_counter_that_does_not_move_forward_is_refused_as_a_copied_authenticator(kleline: Kleline) -> None:
    ada = customer(kleline)
    device = SoftAuthenticator(ORIGIN)
    register(kleline, ada.id, device)
    offer = kleline.passkeys.begin_sign_in()
    kleline.passkeys.sign_in(offer.ceremony_id, device.get(offer.options_json, sign_count=7))

    again = kleline.passkeys.begin_sign_in()
    with pytest.raises(SignCountRegressed) as refused:
        kleline.passkeys.sign_in(again.ceremony_id, device.get(again.options_json, sign_count=7))
    assert refused.value.code == "passkey_sign_count_regressed"
    assert kleline.passkeys.list(ada.id)[0].sign_count == 7


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        ("origin", PasskeyResponseInvalid),
        ("unverified", PasskeyResponseInvalid),
        ("not json", PasskeyResponseInvalid),
        ("another wallet's ceremony", CeremonyUnknown),
        ("late", CeremonyExpired),
    ],
)
def test_a_registration_is_refused_when_anything_is_off(
    kleline: Kleline, clock: FakeClock, tamper: str, expected: type[KlelineError]
) -> None:
    ada, grace = customer(kleline), customer(kleline, "grace@example.org", "Grace Hopper")
    device = SoftAuthenticator(ORIGIN, user_verified=tamper != "unverified")
    offer = kleline.passkeys.begin_registration(grace.id if tamper == "another wallet's ceremony" else ada.id)
    response = device.create(offer.options_json, origin="https://evil.example" if tamper == "origin" else None)
    if tamper == "late":
        clock.advance(minutes=5)
    with pytest.raises(expected):
        kleline.passkeys.register(ada.id, offer.ceremony_id, "{oops" if tamper == "not json" else response, "Phone")
    assert kleline.passkeys.list(ada.id) == []


def test_one_authenticator_credential_belongs_to_one_wallet_and_only_its_owner_removes_it(kleline: Kleline) -> None:
    ada, grace = customer(kleline), customer(kleline, "grace@example.org", "Grace Hopper")
    device = SoftAuthenticator(ORIGIN)
    passkey_id = register(kleline, ada.id, device)
    offer = kleline.passkeys.begin_registration(grace.id)
    # The same credential answered again (a replayed registration) is refused, whoever presents it.
    response = json.loads(device.create(offer.options_json))
    first = device.credentials[0].credential_id
    response["id"] = response["rawId"] = b64url(first)
    with pytest.raises(PasskeyResponseInvalid):  # its id no longer matches the attested credential
        kleline.passkeys.register(grace.id, offer.ceremony_id, json.dumps(response), "Stolen")

    with pytest.raises(PasskeyUnknown):
        kleline.passkeys.remove(grace.id, passkey_id)
    assert [p.id for p in kleline.passkeys.list(ada.id)] == [passkey_id]
    kleline.passkeys.remove(ada.id, passkey_id)
    assert kleline.passkeys.list(ada.id) == []
    with pytest.raises(PasskeyUnknown):
        kleline.passkeys.remove(ada.id, passkey_id)


def test_registering_the_same_credential_twice_is_a_conflict(kleline: Kleline) -> None:
    ada = customer(kleline)
    device = SoftAuthenticator(ORIGIN)
    first = kleline.passkeys.begin_registration(ada.id)
    response = device.create(first.options_json)
    kleline.passkeys.register(ada.id, first.ceremony_id, response, "Phone")
    # Same attestation, new ceremony: the challenge differs, so it does not verify; forge the client data's
    # challenge to the new ceremony's to reach the store's unique credential id.
    second = kleline.passkeys.begin_registration(ada.id)
    again = json.loads(response)
    data = json.loads(unb64url(again["response"]["clientDataJSON"]))
    data["challenge"] = json.loads(second.options_json)["challenge"]
    again["response"]["clientDataJSON"] = b64url(json.dumps(data).encode())
    with pytest.raises(PasskeyTaken):
        kleline.passkeys.register(ada.id, second.ceremony_id, json.dumps(again), "Phone again")


def _passkey_payment(kleline: Kleline, minor: int = 4500) -> tuple[str, str, SoftAuthenticator, str]:
    ada = customer(kleline)
    fund(kleline, ada.id, card(kleline, ada.id), 2500)
    fund(kleline, ada.id, card(kleline, ada.id, "5555555555554444"), 2500)
    device = SoftAuthenticator(ORIGIN)
    register(kleline, ada.id, device)
    merchant_id = shop(kleline)
    created = payment(kleline, merchant_id, minor)
    asked = kleline.payments.confirm(created.id, ada.id, "purse")
    assert asked.status == "requires_action" and asked.challenge_id is not None
    return ada.id, created.id, device, asked.challenge_id


def test_a_passkey_passes_a_payment_above_the_exemption_with_amount_and_payee_bound(kleline: Kleline) -> None:
    customer_id, payment_id, device, challenge_id = _passkey_payment(kleline)
    offer = kleline.passkeys.begin_payment(customer_id, challenge_id)
    assert offer is not None
    options = json.loads(offer.options_json)
    assert [c["id"] for c in options["allowCredentials"]] == [b64url(device.credentials[0].credential_id)]

    paid = kleline.payments.confirm(
        payment_id, customer_id, "purse", passkey=PasskeyProof(offer.ceremony_id, device.get(offer.options_json))
    )
    assert paid.status == "succeeded"
    assert kleline.passkeys.begin_payment(customer_id, challenge_id) is None  # the challenge is passed: no more


def test_a_passkey_signature_made_for_another_amount_does_not_pass_and_counts_as_a_failure(kleline: Kleline) -> None:
    customer_id, payment_id, device, challenge_id = _passkey_payment(kleline)
    offer = kleline.passkeys.begin_payment(customer_id, challenge_id)
    assert offer is not None
    with kleline.db.transaction() as tx:
        challenge = sca_store.find_challenge(tx, challenge_id, customer_id)
        ceremony = passkey_store.find_ceremony(tx, offer.ceremony_id)
    assert challenge is not None and ceremony is not None
    # What a man in the browser would have the authenticator sign: 1.00 EUR to the same shop.
    forged = b64url(bound_challenge(ceremony, challenge, Money(100, "EUR"), challenge.payee))
    response = device.get(offer.options_json, challenge=forged)
    with pytest.raises(PasskeyResponseInvalid):
        kleline.payments.confirm(payment_id, customer_id, "purse", passkey=PasskeyProof(offer.ceremony_id, response))
    with kleline.db.transaction() as tx:
        locked = sca_store.lock_customer(tx, customer_id, "EUR")
    assert locked is not None and locked[1].consecutive_failures == 1
    assert kleline.payments.get(payment_id).status == "requires_action"


def test_a_passkey_answer_presented_for_another_amount_voids_the_challenge(kleline: Kleline) -> None:
    customer_id, _, device, challenge_id = _passkey_payment(kleline)
    offer = kleline.passkeys.begin_payment(customer_id, challenge_id)
    assert offer is not None
    with kleline.db.transaction() as tx:
        payee = sca_store.find_challenge(tx, challenge_id, customer_id).payee  # type: ignore[union-attr]
    with pytest.raises(ChallengeMismatch):
        kleline.strong_auth.pass_challenge_with_passkey(
            customer_id, challenge_id, offer.ceremony_id, device.get(offer.options_json), Money(4400, "EUR"), payee
        )
    assert kleline.passkeys.begin_payment(customer_id, challenge_id) is None  # void for good


def test_five_bad_passkey_answers_block_strong_authentication(kleline: Kleline) -> None:
    customer_id, payment_id, device, challenge_id = _passkey_payment(kleline)
    for attempt in range(5):
        offer = kleline.passkeys.begin_payment(customer_id, challenge_id)
        assert offer is not None
        response = device.get(offer.options_json, origin="https://evil.example")
        expected = AuthenticationBlocked if attempt == 4 else PasskeyResponseInvalid
        with pytest.raises(expected):
            kleline.payments.confirm(
                payment_id, customer_id, "purse", passkey=PasskeyProof(offer.ceremony_id, response)
            )


def test_a_passkey_alone_is_enough_to_be_asked_for_strong_authentication(kleline: Kleline) -> None:
    ada = customer(kleline)
    with pytest.raises(EnrolmentRequired):
        kleline.strong_auth.issue(ada.id, Money(4500, "EUR"), "mer_x")
    register(kleline, ada.id, SoftAuthenticator(ORIGIN))
    assert kleline.strong_auth.issue(ada.id, Money(4500, "EUR"), "mer_x").amount == Money(4500, "EUR")
