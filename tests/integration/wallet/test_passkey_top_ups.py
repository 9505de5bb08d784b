"""Topping the purse up above the exemption with a passkey: the same challenge machinery as a payment's, the signed
bytes bound to the top-up's amount and to the purse as payee, answered by a software authenticator."""

from __future__ import annotations

import pytest

from kleline.bootstrap import Kleline
from kleline.errors import ValidationError
from kleline.wallet import passkey_store, sca_store
from kleline.wallet.customers import purse_code
from kleline.wallet.model import TopUp
from kleline.wallet.passkey import CeremonyExpired, CeremonyUnknown, PasskeyProof, PasskeyResponseInvalid
from kleline.wallet.passkeys import bound_challenge
from kleline.wallet.sca import ChallengeMismatch
from kleline.wallet.strong_auth import UnknownChallenge
from kleline.wallet.top_ups import TOP_UP_PAYEE

from ...conftest import FakeClock
from ...e2e.checkout_world import card, customer, eur, payment, shop
from ...e2e.wallet_world import bank_account
from ...soft_authenticator import SoftAuthenticator, b64url
from .test_passkeys import ORIGIN, register


def _challenged(kleline: Kleline, minor: int = 5000) -> tuple[str, str, SoftAuthenticator, TopUp]:
    """Ada, with a card and a passkey (no authenticator app), asks for a top-up above the exemption: its challenge."""
    ada = customer(kleline)
    card_id = card(kleline, ada.id)
    device = SoftAuthenticator(ORIGIN)
    register(kleline, ada.id, device)
    asked = kleline.top_ups.top_up(ada.id, eur(minor), card_id)
    assert asked.status == "requires_action" and asked.challenge_id is not None
    return ada.id, card_id, device, asked


def _answer(kleline: Kleline, customer_id: str, challenge_id: str, device: SoftAuthenticator) -> PasskeyProof:
    offer = kleline.passkeys.begin_payment(customer_id, challenge_id)
    assert offer is not None
    return PasskeyProof(offer.ceremony_id, device.get(offer.options_json))


def _purse(kleline: Kleline, customer_id: str) -> int:
    return kleline.ledger.balance(purse_code(customer_id)).posted


def _failures(kleline: Kleline, customer_id: str) -> int:
    with kleline.db.transaction() as tx:
        locked = sca_store.lock_customer(tx, customer_id, "EUR")
    assert locked is not None
    return locked[1].consecutive_failures


def test_a_passkey_passes_a_top_up_above_the_exemption_and_the_purse_is_credited_once(kleline: Kleline) -> None:
    ada, card_id, device, asked = _challenged(kleline)
    assert asked.challenge_id is not None
    offer = kleline.passkeys.begin_payment(ada, asked.challenge_id)
    assert offer is not None
    with kleline.db.transaction() as tx:
        challenge = sca_store.find_challenge(tx, asked.challenge_id, ada)
    assert challenge is not None and (challenge.amount, challenge.payee) == (eur(5000), TOP_UP_PAYEE)

    proof = PasskeyProof(offer.ceremony_id, device.get(offer.options_json))
    done = kleline.top_ups.top_up(ada, eur(5000), card_id, challenge_id=asked.challenge_id, passkey=proof)

    assert done.status == "succeeded" and done.id != asked.id
    assert _purse(kleline, ada) == 5000
    assert kleline.passkeys.list(ada)[0].sign_count == 1
    assert kleline.passkeys.begin_payment(ada, asked.challenge_id) is None  # passed: no more ceremonies for it
    with pytest.raises(CeremonyUnknown):  # the same answer again: its ceremony is spent
        kleline.top_ups.top_up(ada, eur(5000), card_id, challenge_id=asked.challenge_id, passkey=proof)
    assert _purse(kleline, ada) == 5000


def test_a_passkey_signature_for_another_amount_or_payee_does_not_pass_and_counts_as_a_failure(
    kleline: Kleline,
) -> None:
    ada, card_id, device, asked = _challenged(kleline)
    assert asked.challenge_id is not None
    for amount, payee in ((eur(100), TOP_UP_PAYEE), (eur(5000), "mer_someone")):
        offer = kleline.passkeys.begin_payment(ada, asked.challenge_id)
        assert offer is not None
        with kleline.db.transaction() as tx:
            challenge = sca_store.find_challenge(tx, asked.challenge_id, ada)
            ceremony = passkey_store.find_ceremony(tx, offer.ceremony_id)
        assert challenge is not None and ceremony is not None
        # What a man in the browser would have the authenticator sign: another amount, or to a shop.
        forged = b64url(bound_challenge(ceremony, challenge, amount, payee))
        proof = PasskeyProof(offer.ceremony_id, device.get(offer.options_json, challenge=forged))
        with pytest.raises(PasskeyResponseInvalid) as refused:
            kleline.top_ups.top_up(ada, eur(5000), card_id, challenge_id=asked.challenge_id, passkey=proof)
        assert refused.value.code == "passkey_response_invalid"
    assert _failures(kleline, ada) == 2
    assert _purse(kleline, ada) == 0

    proof = _answer(kleline, ada, asked.challenge_id, device)
    done = kleline.top_ups.top_up(ada, eur(5000), card_id, challenge_id=asked.challenge_id, passkey=proof)
    assert done.status == "succeeded" and _failures(kleline, ada) == 0


def test_a_passkey_answer_sent_with_another_amount_voids_the_challenge(kleline: Kleline) -> None:
    ada, card_id, device, asked = _challenged(kleline)
    assert asked.challenge_id is not None
    proof = _answer(kleline, ada, asked.challenge_id, device)
    with pytest.raises(ChallengeMismatch):
        kleline.top_ups.top_up(ada, eur(4000), card_id, challenge_id=asked.challenge_id, passkey=proof)
    assert kleline.passkeys.begin_payment(ada, asked.challenge_id) is None  # void for good
    assert _purse(kleline, ada) == 0


def test_a_passkey_ceremony_of_a_payment_does_not_pass_a_top_up(kleline: Kleline) -> None:
    ada, card_id, device, asked = _challenged(kleline)
    assert asked.challenge_id is not None
    paying = payment(kleline, shop(kleline), 4500)
    kleline.top_ups.top_up(ada, eur(3000), card_id)  # exempt: the purse can pay
    asked_to_pay = kleline.payments.confirm(paying.id, ada, "purse")
    assert asked_to_pay.challenge_id is not None
    for_the_shop = _answer(kleline, ada, asked_to_pay.challenge_id, device)
    with pytest.raises(UnknownChallenge):
        kleline.top_ups.top_up(ada, eur(5000), card_id, challenge_id=asked.challenge_id, passkey=for_the_shop)
    assert _purse(kleline, ada) == 3000


def test_a_late_passkey_answer_is_refused_and_the_top_up_asks_again(kleline: Kleline, clock: FakeClock) -> None:
    ada, card_id, device, asked = _challenged(kleline)
    assert asked.challenge_id is not None
    clock.advance(minutes=1)
    late = _answer(kleline, ada, asked.challenge_id, device)
    clock.advance(minutes=5)
    with pytest.raises(CeremonyExpired):
        kleline.top_ups.top_up(ada, eur(5000), card_id, challenge_id=asked.challenge_id, passkey=late)
    assert _purse(kleline, ada) == 0

    again = kleline.top_ups.top_up(ada, eur(5000), card_id)
    assert again.status == "requires_action" and again.challenge_id is not None
    proof = _answer(kleline, ada, again.challenge_id, device)
    assert kleline.top_ups.top_up(ada, eur(5000), card_id, challenge_id=again.challenge_id, passkey=proof).status == (
        "succeeded"
    )


@pytest.mark.parametrize(
    ("challenge", "code", "param"),
    [(None, None, "challenge_id"), ("given", "123456", "passkey")],
)
def test_a_passkey_answer_goes_with_its_challenge_and_without_a_code(
    kleline: Kleline, challenge: str | None, code: str | None, param: str
) -> None:
    ada, card_id, device, asked = _challenged(kleline)
    assert asked.challenge_id is not None
    proof = _answer(kleline, ada, asked.challenge_id, device)
    challenge_id = asked.challenge_id if challenge else None
    with pytest.raises(ValidationError) as refused:
        kleline.top_ups.top_up(ada, eur(5000), card_id, challenge_id=challenge_id, sca_code=code, passkey=proof)
    assert (refused.value.code, refused.value.param) == ("validation_error", param)
    assert _failures(kleline, ada) == 0  # refused before anything was checked: the ceremony is still unspent
    done = kleline.top_ups.top_up(ada, eur(5000), card_id, challenge_id=asked.challenge_id, passkey=proof)
    assert done.status == "succeeded"


def test_a_direct_debit_top_up_above_the_exemption_passes_with_a_passkey(kleline: Kleline) -> None:
    ada = customer(kleline)
    account = bank_account(kleline, ada.id)
    device = SoftAuthenticator(ORIGIN)
    register(kleline, ada.id, device)
    asked = kleline.collections.top_ups.top_up(ada.id, eur(5000), account.id).top_up
    assert asked.status == "requires_action" and asked.challenge_id is not None

    done = kleline.collections.top_ups.top_up(
        ada.id,
        eur(5000),
        account.id,
        challenge_id=asked.challenge_id,
        passkey=_answer(kleline, ada.id, asked.challenge_id, device),
    )
    assert done.top_up.status == "succeeded" and done.collection is not None
    assert _purse(kleline, ada.id) == 5000
    assert done.collection.amount == eur(5000)
