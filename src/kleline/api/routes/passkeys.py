"""Passkeys of the signed-in customer's wallet (WebAuthn): register, list, remove, and the options to pass a
payment's or a top-up's strong-authentication challenge with one (``POST /v1/payments/{id}/confirm`` or
``POST /v1/wallet/top-ups`` with ``passkey``).

A ceremony's ``options`` are the JSON a browser gives ``PublicKeyCredential.parseCreationOptionsFromJSON`` (or
``parseRequestOptionsFromJSON``); the answer to send back is the credential's ``toJSON()``. The relying party is
Kleline's public address (``KLELINE_PUBLIC_URL``): a wallet app registers passkeys for that site.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from kleline.api.auth import CustomerId, kleline_of
from kleline.clock import to_rfc3339
from kleline.wallet.passkey import Offer, Passkey, PasskeyProof, UnknownChallengeOffer

__all__ = ["PasskeyAnswer", "router"]

router = APIRouter(prefix="/v1/wallet", tags=["wallet"])


class CeremonyOut(BaseModel):
    """A ceremony to run in the browser: send ``ceremony_id`` back with the authenticator's answer, within five
    minutes."""

    ceremony_id: str
    options: dict[str, Any] = Field(description="PublicKeyCredentialCreationOptionsJSON or RequestOptionsJSON")


class PasskeyAnswer(BaseModel):
    """An authenticator's answer to a ceremony: the credential's ``toJSON()``."""

    ceremony_id: str = Field(min_length=1, max_length=40)
    credential: dict[str, Any] = Field(description="the PublicKeyCredential's toJSON()")

    def proof(self) -> PasskeyProof:
        """The answer as the services check it."""
        return PasskeyProof(self.ceremony_id, json.dumps(self.credential))


class NewPasskey(PasskeyAnswer):
    """A registration's answer, and the name the customer gives the passkey."""

    name: str = Field(min_length=1, max_length=64, examples=["My phone"])


class AssertionIn(BaseModel):
    """The payment's or the top-up's challenge (``next_action.challenge_id``) to pass with a passkey."""

    challenge_id: str = Field(min_length=1, max_length=40)


class PasskeyOut(BaseModel):
    """A passkey of the wallet; its key stays on the customer's device, Kleline keeps only the public half."""

    id: str
    name: str
    transports: list[str]
    created_at: str
    last_used_at: str | None


class PasskeyList(BaseModel):
    """The wallet's passkeys, oldest first (ten at most)."""

    data: list[PasskeyOut]
    has_more: bool


def _out(passkey: Passkey) -> PasskeyOut:
    return PasskeyOut(
        id=passkey.id,
        name=passkey.name,
        transports=list(passkey.transports),
        created_at=to_rfc3339(passkey.created_at),
        last_used_at=to_rfc3339(passkey.last_used_at) if passkey.last_used_at else None,
    )


def _ceremony(offer: Offer) -> CeremonyOut:
    return CeremonyOut(ceremony_id=offer.ceremony_id, options=json.loads(offer.options_json))


_REGISTER_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"description": "``passkey_response_invalid``: the answer does not verify; ``validation_error``: the name"},
    404: {"description": "``passkey_ceremony_not_found``: no such ceremony for this wallet, or it was used"},
    409: {"description": "``passkey_already_registered``: this authenticator's credential is registered already"},
    410: {"description": "``passkey_ceremony_expired``: five minutes passed; start a new ceremony"},
}


@router.post("/passkeys/registrations", status_code=201, response_model=CeremonyOut)
def begin_registration(request: Request, customer_id: CustomerId) -> CeremonyOut:
    """Start registering a passkey: the options for ``navigator.credentials.create`` (user verification required,
    a discoverable credential, the wallet's passkeys excluded)."""
    return _ceremony(kleline_of(request).passkeys.begin_registration(customer_id))


@router.post("/passkeys", status_code=201, response_model=PasskeyOut, responses=_REGISTER_ERRORS)
def register_passkey(body: NewPasskey, request: Request, customer_id: CustomerId) -> PasskeyOut:
    """Keep the passkey the authenticator made for the ceremony, once its answer verifies."""
    passkeys = kleline_of(request).passkeys
    return _out(passkeys.register(customer_id, body.ceremony_id, json.dumps(body.credential), body.name))


@router.get("/passkeys", response_model=PasskeyList)
def list_passkeys(request: Request, customer_id: CustomerId) -> PasskeyList:
    """The wallet's passkeys."""
    return PasskeyList(data=[_out(p) for p in kleline_of(request).passkeys.list(customer_id)], has_more=False)


@router.delete(
    "/passkeys/{passkey_id}",
    status_code=204,
    response_class=Response,
    responses={404: {"description": "``passkey_not_found``: no such passkey in this wallet"}},
)
def remove_passkey(passkey_id: str, request: Request, customer_id: CustomerId) -> Response:
    """Remove a passkey; another customer's is not found, like an unknown one."""
    kleline_of(request).passkeys.remove(customer_id, passkey_id)
    return Response(status_code=204)


@router.post(
    "/passkeys/assertions",
    status_code=201,
    response_model=CeremonyOut,
    responses={404: {"description": "``sca_challenge_not_found``: no open challenge of this wallet, or no passkey"}},
)
def begin_assertion(body: AssertionIn, request: Request, customer_id: CustomerId) -> CeremonyOut:
    """The options for ``navigator.credentials.get`` to pass a payment's or a top-up's challenge: the bytes to sign
    are bound to the challenge's amount and payee. Answer with ``passkey``: to ``POST /v1/payments/{id}/confirm``
    for a payment, to ``POST /v1/wallet/top-ups`` (the same top-up again, with its ``challenge_id``) for a top-up."""
    offer = kleline_of(request).passkeys.begin_payment(customer_id, body.challenge_id)
    if offer is None:
        raise UnknownChallengeOffer(
            f"no open challenge {body.challenge_id} with a passkey to pass it", param="challenge_id"
        )
    return _ceremony(offer)
