"""A software WebAuthn authenticator for the tests: a P-256 key per credential, made with ``cryptography``.

It answers the JSON options Kleline hands a browser exactly as a browser would after talking to a platform
authenticator (``none`` attestation, user present and verified), so that the tests check real signatures.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

__all__ = ["SoftAuthenticator", "b64url", "unb64url"]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class _Credential:
    credential_id: bytes
    key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0


@dataclass
class SoftAuthenticator:
    """Passkeys kept in memory; ``origin`` is the page's origin as the browser reports it."""

    origin: str
    credentials: list[_Credential] = field(default_factory=list)
    user_verified: bool = True

    def create(self, options_json: str, *, origin: str | None = None) -> str:
        """The ``navigator.credentials.create`` response (``toJSON()`` form) to these options."""
        options = json.loads(options_json)
        rp_id = options["rp"]["id"]
        credential = _Credential(
            secrets.token_bytes(32), ec.generate_private_key(ec.SECP256R1()), rp_id, unb64url(options["user"]["id"])
        )
        self.credentials.append(credential)
        numbers = credential.key.public_key().public_numbers()
        cose = {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
        attested = bytes(16) + len(credential.credential_id).to_bytes(2, "big") + credential.credential_id
        auth_data = self._auth_data(rp_id, 0, 0x40) + attested + cbor2.dumps(cose)
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return json.dumps(
            {
                "id": b64url(credential.credential_id),
                "rawId": b64url(credential.credential_id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": b64url(client_data),
                    "attestationObject": b64url(attestation),
                    "transports": ["internal"],
                },
                "clientExtensionResults": {},
                "authenticatorAttachment": "platform",
            }
        )

    def get(
        self,
        options_json: str,
        *,
        origin: str | None = None,
        sign_count: int | None = None,
        challenge: str | None = None,
        credential: int = 0,
    ) -> str:
        """The ``navigator.credentials.get`` response to these options, with the counter moved on by one (or set to
        ``sign_count``), over ``challenge`` if given (a forged one) instead of the options'."""
        options = json.loads(options_json)
        allowed = {item["id"] for item in options.get("allowCredentials", [])}
        usable = [
            c
            for c in self.credentials
            if c.rp_id == options["rpId"] and (not allowed or b64url(c.credential_id) in allowed)
        ]
        chosen = usable[credential]
        chosen.sign_count = chosen.sign_count + 1 if sign_count is None else sign_count
        auth_data = self._auth_data(chosen.rp_id, chosen.sign_count, 0)
        client_data = self._client_data("webauthn.get", challenge or options["challenge"], origin)
        signature = chosen.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return json.dumps(
            {
                "id": b64url(chosen.credential_id),
                "rawId": b64url(chosen.credential_id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": b64url(client_data),
                    "authenticatorData": b64url(auth_data),
                    "signature": b64url(signature),
                    "userHandle": b64url(chosen.user_handle),
                },
                "clientExtensionResults": {},
                "authenticatorAttachment": "platform",
            }
        )

    def _auth_data(self, rp_id: str, count: int, extra_flags: int) -> bytes:
        flags = 0x01 | (0x04 if self.user_verified else 0) | extra_flags
        return hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + count.to_bytes(4, "big")

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        data: dict[str, Any] = {
            "type": kind,
            "challenge": challenge,
            "origin": origin or self.origin,
            "crossOrigin": False,
        }
        return json.dumps(data, separators=(",", ":")).encode()
