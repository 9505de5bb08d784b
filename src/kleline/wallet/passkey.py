"""Passkeys (WebAuthn): a second strong-authentication factor beside the TOTP app, for signing in and for paying.

Plain values and functions over the ``webauthn`` package, with no database (``wallet.passkeys`` keeps the state).
The WebAuthn functions (``registration_options``, ``authentication_options``, ``verify_registration``,
``verify_assertion``) know nothing of whose passkey it is: they take the challenge's bytes and a ``Credential`` (a
customer's ``Passkey`` here; a merchant user's in ``kleline.merchant_users``, which holds its people to the same rules).

- A **ceremony** is one challenge the browser hands to an authenticator: to register a passkey, to sign in, or to
  pass a payment's strong-authentication challenge. It holds 32 random bytes, is used once and lives five minutes.
- **Dynamic linking** (PSD2 RTS art. 5), as for TOTP: a payment ceremony answers one ``sca.Challenge``, and the
  bytes the authenticator signs are ``SHA-256(domain, nonce, challenge id, amount, currency, payee)``, recomputed
  at verification from the payment being paid. A signature made for another amount or payee does not verify.
- Every ceremony requires **user verification** (a PIN or a biometric on the device): possession of the
  authenticator and the person's own gesture, two factors in one.
- The **signature counter** must move forward when either side has seen one: a counter that stays put or goes back
  means a cloned authenticator, and the response is refused (``SignCountRegressed``) even though it verifies.
- The relying party is Kleline's public address (``settings.public_url``): its host is the RP id, its origin the
  only origin accepted.

Refusals::

    KlelineError
     └── PasskeyError
          ├── PasskeyResponseInvalid   malformed, or it does not verify (origin, challenge, signature, user verified)
          ├── SignCountRegressed       the counter did not move forward: perhaps a cloned authenticator
          ├── CeremonyUnknown          no such ceremony for this person, or it was used already
          ├── CeremonyExpired          five minutes or more after it began
          ├── PasskeyUnknown           no such passkey of this person (in this wallet, or of this merchant user)
          ├── PasskeyTaken             this authenticator's credential is already registered
          └── PasskeyNameInvalid       a name of 1 to 64 printable characters is needed
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Literal, Protocol
from urllib.parse import urlsplit

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import parse_authentication_credential_json, parse_registration_credential_json
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from kleline.errors import Conflict, KlelineError, NotFound, ValidationError
from kleline.wallet.sca import Challenge

__all__ = [
    "CEREMONY_LIFETIME",
    "Ceremony",
    "CeremonyExpired",
    "CeremonyUnknown",
    "Credential",
    "NewCredential",
    "Offer",
    "Passkey",
    "PasskeyError",
    "PasskeyNameInvalid",
    "PasskeyProof",
    "PasskeyResponseInvalid",
    "PasskeyTaken",
    "PasskeyUnknown",
    "Purpose",
    "RelyingParty",
    "SignCountRegressed",
    "UnknownChallengeOffer",
    "authentication_options",
    "user_handle_of",
    "check_name",
    "credential_id_of",
    "expected_challenge",
    "new_ceremony",
    "registration_options",
    "verify_assertion",
    "verify_registration",
]

CEREMONY_LIFETIME: Final = timedelta(minutes=5)
_TIMEOUT_MS: Final = 120_000
_PAYMENT_DOMAIN: Final = b"kleline-passkey-payment-v1"
_MAX_RESPONSE: Final = 16_384
MAX_NAME: Final = 64

Purpose = Literal["register", "sign_in", "payment"]


class PasskeyError(KlelineError):
    """Root of the passkey refusals."""

    code = "passkey_error"


class PasskeyResponseInvalid(PasskeyError, ValidationError):
    """The authenticator's response is malformed or does not verify."""

    code = "passkey_response_invalid"
    status = 400


class SignCountRegressed(PasskeyError):
    """The response verifies but its signature counter did not move forward: perhaps a cloned authenticator."""

    code = "passkey_sign_count_regressed"
    status = 403


class CeremonyUnknown(PasskeyError, NotFound):
    """No such ceremony for this person and purpose, or it was used already."""

    code = "passkey_ceremony_not_found"


class CeremonyExpired(PasskeyError):
    """The ceremony began five minutes ago or more: start again."""

    code = "passkey_ceremony_expired"
    status = 410


class PasskeyUnknown(PasskeyError, NotFound):
    """No such passkey of this person (another person's is unknown too: nothing revealed)."""

    code = "passkey_not_found"


class PasskeyTaken(PasskeyError, Conflict):
    """This authenticator's credential is already registered (for this person or another)."""

    code = "passkey_already_registered"


class UnknownChallengeOffer(PasskeyError, NotFound):
    """No open strong-authentication challenge of this wallet to offer a passkey for (or no passkey)."""

    code = "sca_challenge_not_found"


class PasskeyNameInvalid(PasskeyError, ValidationError):
    """A passkey's name must have 1 to 64 printable characters."""

    code = "validation_error"


@dataclass(frozen=True, slots=True)
class RelyingParty:
    """Who the passkeys are for: ``id`` is the host of Kleline's public address, ``origin`` its origin."""

    id: str
    origin: str
    name: str = "Kleline"

    @classmethod
    def of(cls, public_url: str) -> RelyingParty:
        """The relying party of the pages served at ``public_url``."""
        parts = urlsplit(public_url)
        if not parts.hostname or parts.scheme not in ("http", "https"):
            raise ValidationError(f"public_url {public_url!r} has no http(s) host", param="public_url")
        return cls(parts.hostname, f"{parts.scheme}://{parts.netloc}")


class Credential(Protocol):
    """What the WebAuthn functions read of a registered credential, whoever holds it: its id and public key as the
    authenticator gave them, the signature counter last seen, its transports, and the user handle it was made for."""

    @property
    def credential_id(self) -> bytes: ...

    @property
    def public_key(self) -> bytes: ...

    @property
    def sign_count(self) -> int: ...

    @property
    def transports(self) -> tuple[str, ...]: ...

    @property
    def user_handle(self) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Passkey:
    """A customer's registered credential; ``credential_id`` and ``public_key`` as the authenticator gave them."""

    id: str
    customer_id: str
    credential_id: bytes = field(repr=False)
    public_key: bytes = field(repr=False)
    sign_count: int
    name: str
    transports: tuple[str, ...]
    created_at: datetime
    last_used_at: datetime | None = None

    @property
    def user_handle(self) -> bytes:
        """The WebAuthn user handle it was made for: its customer's."""
        return user_handle_of(self.customer_id)


@dataclass(frozen=True, slots=True)
class Ceremony:
    """One challenge for an authenticator; ``challenge_id`` names the payment's challenge it answers, if any."""

    id: str
    purpose: Purpose
    customer_id: str | None
    challenge_id: str | None
    nonce: bytes = field(repr=False)
    created_at: datetime
    expires_at: datetime
    used: bool = False


@dataclass(frozen=True, slots=True)
class Offer:
    """What a browser needs to run a ceremony: its id (sent back with the response) and the options as JSON."""

    ceremony_id: str
    options_json: str


@dataclass(frozen=True, slots=True)
class PasskeyProof:
    """A passkey's answer to a payment ceremony: the ceremony's id and the ``navigator.credentials.get`` response."""

    ceremony_id: str
    response_json: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class NewCredential:
    """A verified registration: what to store."""

    credential_id: bytes
    public_key: bytes
    sign_count: int
    transports: tuple[str, ...]


def new_ceremony(
    purpose: Purpose, customer_id: str | None, challenge_id: str | None, now: datetime, new_id: str
) -> Ceremony:
    """A fresh ceremony with 32 random bytes, valid five minutes."""
    if purpose == "payment" and (customer_id is None or challenge_id is None):
        raise ValidationError("a payment ceremony answers one customer's challenge", param="challenge_id")
    if purpose == "register" and customer_id is None:
        raise ValidationError("a passkey is registered for a customer", param="customer_id")
    return Ceremony(new_id, purpose, customer_id, challenge_id, secrets.token_bytes(32), now, now + CEREMONY_LIFETIME)


def expected_challenge(
    ceremony: Ceremony, bound_to: Challenge | None = None, *, amount: int = 0, currency: str = "", payee: str = ""
) -> bytes:
    """The bytes the authenticator must have signed: the nonce, or for a payment its digest with the challenge's id
    and the amount and payee being paid (pass those of the payment at hand: another amount or payee verifies not)."""
    if ceremony.purpose != "payment":
        return ceremony.nonce
    if bound_to is None or bound_to.id != ceremony.challenge_id:
        raise ValidationError("a payment ceremony is checked against its own challenge", param="challenge_id")
    digest = hashlib.sha256()
    for part in (
        _PAYMENT_DOMAIN,
        ceremony.nonce,
        bound_to.id.encode(),
        str(amount).encode(),
        currency.encode(),
        payee.encode(),
    ):
        digest.update(len(part).to_bytes(4, "big") + part)
    return digest.digest()


def check_name(name: str) -> str:
    """A passkey's name, trimmed; ``PasskeyNameInvalid`` unless 1 to 64 printable characters."""
    name = " ".join(name.split())
    if not 1 <= len(name) <= MAX_NAME or not name.isprintable():
        raise PasskeyNameInvalid(f"name: give 1 to {MAX_NAME} printable characters", param="name")
    return name


def registration_options(
    rp: RelyingParty,
    challenge: bytes,
    user_handle: bytes,
    user_name: str,
    display_name: str,
    existing: Sequence[Credential],
    *,
    discoverable: bool = True,
) -> str:
    """The options of ``navigator.credentials.create`` over ``challenge`` (a registration ceremony's nonce), as
    JSON: user verification required, no attestation, the person's other passkeys excluded. ``discoverable``: a
    credential that can sign in without an email typed (a customer's); otherwise one that is only ever asked for by
    its id, after the password (a merchant user's second factor), which then stays out of the choosers of the
    sign-ins it cannot serve."""
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=user_handle,
        user_name=user_name,
        user_display_name=display_name,
        challenge=challenge,
        timeout=_TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED if discoverable else ResidentKeyRequirement.DISCOURAGED,
            require_resident_key=discoverable,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[_descriptor(passkey) for passkey in existing],
    )
    return str(options_to_json(options))


def authentication_options(rp: RelyingParty, challenge: bytes, allowed: Sequence[Credential]) -> str:
    """The options of ``navigator.credentials.get``, as JSON; ``allowed`` empty lets the person pick any of their
    passkeys for this site (signing in without an email)."""
    options = generate_authentication_options(
        rp_id=rp.id,
        challenge=challenge,
        timeout=_TIMEOUT_MS,
        allow_credentials=[_descriptor(passkey) for passkey in allowed],
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return str(options_to_json(options))


def verify_registration(rp: RelyingParty, challenge: bytes, response_json: str) -> NewCredential:
    """The credential of a ``navigator.credentials.create`` response, once it verifies over ``challenge`` (the
    registration ceremony's nonce)."""
    _check_size(response_json)
    try:
        credential = parse_registration_credential_json(response_json)
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            require_user_verification=True,
        )
        if bytes(credential.raw_id) != verified.credential_id:
            raise ValueError("the response names another credential than the one its authenticator attested")
    except (WebAuthnException, ValueError, TypeError, KeyError) as error:
        raise PasskeyResponseInvalid(f"the passkey's response does not verify: {error}", param="credential") from None
    transports = tuple(
        str(t.value) for t in credential.response.transports or [] if isinstance(t, AuthenticatorTransport)
    )
    return NewCredential(verified.credential_id, verified.credential_public_key, verified.sign_count, transports)


def credential_id_of(response_json: str) -> bytes:
    """The credential id a ``navigator.credentials.get`` response names (to find its passkey)."""
    _check_size(response_json)
    try:
        return bytes(parse_authentication_credential_json(response_json).raw_id)
    except (WebAuthnException, ValueError, TypeError, KeyError) as error:
        raise PasskeyResponseInvalid(f"the passkey's response is malformed: {error}", param="credential") from None


def verify_assertion(rp: RelyingParty, challenge: bytes, passkey: Credential, response_json: str) -> int:
    """The new signature counter of a ``navigator.credentials.get`` response made by ``passkey`` over
    ``challenge``; ``PasskeyResponseInvalid`` unless it verifies, ``SignCountRegressed`` if the counter did not
    move forward."""
    _check_size(response_json)
    try:
        credential = parse_authentication_credential_json(response_json)
        if bytes(credential.raw_id) != passkey.credential_id:
            raise ValueError("the response is from another credential")
        handle = credential.response.user_handle
        if handle is not None and handle != passkey.user_handle:
            raise ValueError("the response names another user")
        # The counter is judged below, once the signature is known to be genuine: 0 keeps the library's check off.
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=0,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as error:
        raise PasskeyResponseInvalid(f"the passkey's response does not verify: {error}", param="credential") from None
    count = int(verified.new_sign_count)
    if (count > 0 or passkey.sign_count > 0) and count <= passkey.sign_count:
        raise SignCountRegressed(
            f"the passkey's counter went from {passkey.sign_count} to {count}: it may have been copied",
            param="credential",
        )
    return count


def user_handle_of(customer_id: str) -> bytes:
    """The WebAuthn user handle of a customer: their id (no email, no name: the handle is not secret)."""
    return customer_id.encode("ascii")


def _descriptor(passkey: Credential) -> PublicKeyCredentialDescriptor:
    transports = [AuthenticatorTransport(t) for t in passkey.transports if t in _TRANSPORTS]
    return PublicKeyCredentialDescriptor(id=passkey.credential_id, transports=transports or None)


_TRANSPORTS: Final = frozenset(t.value for t in AuthenticatorTransport)


def _check_size(response_json: str) -> None:
    if not response_json or len(response_json) > _MAX_RESPONSE:
        raise PasskeyResponseInvalid("no passkey response, or one too large", param="credential")
    try:
        parsed: Any = json.loads(response_json)
    except ValueError:
        raise PasskeyResponseInvalid("the passkey's response is not JSON", param="credential") from None
    if not isinstance(parsed, dict):
        raise PasskeyResponseInvalid("the passkey's response is not a JSON object", param="credential")
