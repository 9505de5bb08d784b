"""What an idempotency record keeps, and why a copy of the database alone cannot read it.

A first answer may carry a secret that Kleline otherwise never keeps in clear: a customer token from
``POST /v1/auth/token``, a merchant's ``sk_...`` key shown once. A request body may carry a password, and a plain
SHA-256 of ``{"email", "password"}`` would let anyone holding the table test guesses at the speed of SHA-256,
bypassing argon2. So nothing readable is stored:

- every record gets its own secret, ``HMAC(server key, principal || key)``, where the principal is the caller's
  bearer itself (not its digest, which the token tables hold) and the key is the raw ``Idempotency-Key``; neither
  is stored;
- the row's id, the request's MAC and the AES-256-GCM key of the stored answer are derived from that secret
  under distinct labels.

A reader of the database needs the server key, the caller's bearer and the key string to open a record.
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kleline.idempotency.model import StoredResponse

__all__ = ["RecordKeys", "open_response", "record_keys", "seal_response"]

_NONCE = 12


@dataclass(frozen=True, slots=True)
class RecordKeys:
    """The keys of one (principal, Idempotency-Key) pair: where its row lives, how requests and answers are sealed."""

    id: bytes
    mac_key: bytes = field(repr=False)
    seal_key: bytes = field(repr=False)

    def request_mac(self, fingerprint: bytes) -> bytes:
        """The stored form of a request fingerprint: comparable, but useless without the record's secret."""
        return hmac.digest(self.mac_key, fingerprint, "sha256")


def record_keys(server_key: bytes, principal: bytes, key: str) -> RecordKeys:
    """Derive a record's id and keys from the server key, the caller's principal and its Idempotency-Key."""
    encoded = key.encode("ascii")
    # Length-prefixed, so that no (principal, key) pair can be re-cut into another.
    material = len(principal).to_bytes(4, "big") + principal + encoded
    secret = hmac.digest(server_key, material, "sha256")
    return RecordKeys(
        id=hmac.digest(secret, b"id", "sha256"),
        mac_key=hmac.digest(secret, b"request", "sha256"),
        seal_key=hmac.digest(secret, b"response", "sha256"),
    )


def seal_response(keys: RecordKeys, response: StoredResponse) -> bytes:
    """The headers and body, encrypted under the record's key and bound to its id and status:
    ``nonce || ciphertext``."""
    headers = json.dumps([list(pair) for pair in response.headers], separators=(",", ":")).encode()
    # JSON never contains a raw NUL byte, so the first one separates the headers from the body.
    plaintext = headers + b"\0" + response.body
    nonce = secrets.token_bytes(_NONCE)
    return nonce + AESGCM(keys.seal_key).encrypt(nonce, plaintext, _associated(keys, response.status))


def open_response(keys: RecordKeys, status: int, sealed: bytes) -> StoredResponse:
    """The inverse of ``seal_response`` (raises ``cryptography.exceptions.InvalidTag`` if the record was altered)."""
    plaintext = AESGCM(keys.seal_key).decrypt(sealed[:_NONCE], sealed[_NONCE:], _associated(keys, status))
    headers, _, body = plaintext.partition(b"\0")
    pairs = tuple((str(name), str(value)) for name, value in json.loads(headers))
    return StoredResponse(status=status, headers=pairs, body=body)


def _associated(keys: RecordKeys, status: int) -> bytes:
    # The status is stored in clear (it is useful to an operator); binding it here means it cannot be changed either.
    return keys.id + status.to_bytes(2, "big")
