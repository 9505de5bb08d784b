"""Kleline's receipt signing keys (Ed25519): reading them from configuration, signing, and offline verification.

Configuration (``KLELINE_RECEIPT_SIGNING_KEYS``): ``"k2:<seed>,k1:<seed>"``, each seed the 32 bytes of an Ed25519
private key in standard base64, the first key the active one. Only the active key signs; every configured key is
published (``GET /v1/keys``, ``kleline receipt keys``), the older ones with ``active: false``, so that receipts signed
before a rotation still verify. Rotation: put a new key first (``kleline receipt generate-key k2``), keep the old ones
after it. Dropping a key from the configuration stops publishing it: its receipts then verify only against a copy
of the public keys saved earlier (``kleline receipt verify --keys FILE``). A development key, published in this
repository, signs out of the box and is refused in production.

Public keys and signatures are written in unpadded base64url (RFC 4648 section 5), as JWK (RFC 8037) writes Ed25519
keys: 43 characters for a public key, 86 for a signature. A signature covers the receipt's canonical bytes
(``kleline.receipts.model.canonical_bytes``) and nothing else, so any Ed25519 library can check it.

Errors::

    ReceiptError
     ├── MalformedReceipt          the document or its signature block is not well formed (model.py)
     ├── UnknownSigningKey         the signature names a key id that the verifier's public keys do not hold
     ├── BadSignature              the signature does not match the document under the named key (altered, or
     │                             signed by another key)
     ├── InvalidPublicKeys         a list of public keys (GET /v1/keys JSON) is not well formed
     └── InvalidSigningKeyConfig   the configured keys are malformed, or a development key outside development

Messages name key ids and positions, never key material.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from kleline.config import DEVELOPMENT_RECEIPT_SIGNING_KEYS
from kleline.receipts.model import MalformedReceipt, Receipt, ReceiptError, canonical_bytes, parse_receipt

__all__ = [
    "ALGORITHM",
    "BadSignature",
    "InvalidPublicKeys",
    "InvalidSigningKeyConfig",
    "PublicKey",
    "PublicKeys",
    "Signature",
    "SignedReceipt",
    "SigningKeys",
    "UnknownSigningKey",
    "b64url_decode",
    "b64url_encode",
    "generate_signing_key",
    "verify",
]

ALGORITHM: Final = "Ed25519"
SEED_SIZE: Final = 32
PUBLIC_KEY_SIZE: Final = 32
SIGNATURE_SIZE: Final = 64
KEY_ID_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
_B64URL: Final = re.compile(r"^[A-Za-z0-9_-]*$")
_CONFIG_FORMAT: Final = "expected 'id:base64seed[,id:base64seed...]', the active key first"
_KEY_ID_RULE: Final = "1-32 letters, digits, '_' or '-', starting with a letter or digit"


class UnknownSigningKey(ReceiptError):
    """The signature names a key id that is not among the public keys the receipt is checked against."""

    code = "unknown_signing_key"


class BadSignature(ReceiptError):
    """The signature does not match: the document was altered, or another key signed it."""

    code = "bad_signature"


class InvalidPublicKeys(ReceiptError):
    """A list of public keys (the JSON of ``GET /v1/keys``) is not well formed."""

    code = "invalid_public_keys"


class InvalidSigningKeyConfig(ReceiptError):
    """The configured signing keys are malformed, or a development key is configured outside development."""

    code = "invalid_signing_key_config"
    status = 500


def b64url_encode(raw: bytes) -> str:
    """Unpadded base64url, as JWK writes keys."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text: object, size: int, what: str) -> bytes:
    """Decode unpadded base64url of exactly ``size`` bytes, in its one canonical spelling; ``ValueError`` otherwise."""
    if not isinstance(text, str) or not _B64URL.match(text):
        raise ValueError(f"{what} is not unpadded base64url text")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError(f"{what} is not valid base64url") from None
    # Unused trailing bits would give one value several spellings: accept only the one we write.
    if len(raw) != size or b64url_encode(raw) != text:
        raise ValueError(f"{what} must be {size} bytes in unpadded base64url")
    return raw


@dataclass(frozen=True, slots=True)
class Signature:
    """Who signed (``key_id``), how (``Ed25519``), and the 64-byte signature in base64url."""

    key_id: str
    value: str
    algorithm: str = ALGORITHM

    def to_json(self) -> dict[str, str]:
        """The ``signature`` member of a signed receipt."""
        return {"key_id": self.key_id, "algorithm": self.algorithm, "value": self.value}


@dataclass(frozen=True, slots=True)
class SignedReceipt:
    """A receipt and its signature: what is stored, served and handed to the parties."""

    receipt: Receipt
    signature: Signature

    def to_json(self) -> dict[str, Any]:
        """The document with its ``signature`` member (the JSON of ``GET /v1/receipts/{id}``)."""
        return {**self.receipt.document(), "signature": self.signature.to_json()}

    def dumps(self) -> str:
        """Readable JSON for a file; any layout verifies, since the signature covers the canonical form."""
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"


@dataclass(frozen=True, slots=True)
class PublicKey:
    """One published verification key; ``active`` is the one signing new receipts."""

    key_id: str
    raw: bytes
    active: bool

    def to_json(self) -> dict[str, Any]:
        """One entry of ``GET /v1/keys``."""
        return {"id": self.key_id, "algorithm": ALGORITHM, "public_key": b64url_encode(self.raw), "active": self.active}


class PublicKeys:
    """The keys a receipt is verified against, by id: Kleline's configuration, or a saved ``GET /v1/keys``."""

    __slots__ = ("_keys",)

    def __init__(self, keys: Iterable[PublicKey]) -> None:
        by_id: dict[str, PublicKey] = {}
        for key in keys:
            if key.key_id in by_id:
                raise InvalidPublicKeys(f"the key id {key.key_id!r} appears twice")
            by_id[key.key_id] = key
        self._keys: Mapping[str, PublicKey] = MappingProxyType(by_id)

    @classmethod
    def from_json(cls, data: object) -> PublicKeys:
        """Read the JSON of ``GET /v1/keys`` (``{"data": [...]}``, or the bare list)."""
        entries = data.get("data") if isinstance(data, Mapping) else data
        if not isinstance(entries, list):
            raise InvalidPublicKeys('expected {"data": [{"id", "algorithm", "public_key", "active"}, ...]}')
        keys = []
        for position, entry in enumerate(entries, start=1):
            if not isinstance(entry, Mapping) or not {"id", "algorithm", "public_key"} <= entry.keys():
                raise InvalidPublicKeys(f"key {position} lacks id, algorithm or public_key")
            key_id, active = entry["id"], entry.get("active", False)
            if not isinstance(key_id, str) or not KEY_ID_PATTERN.match(key_id):
                raise InvalidPublicKeys(f"key {position} has an invalid id: {_KEY_ID_RULE}")
            if entry["algorithm"] != ALGORITHM:
                raise InvalidPublicKeys(f"key {key_id!r} is not an {ALGORITHM} key")
            if not isinstance(active, bool):
                raise InvalidPublicKeys(f"key {key_id!r}: active must be true or false")
            try:
                raw = b64url_decode(entry["public_key"], PUBLIC_KEY_SIZE, f"the public key of {key_id!r}")
            except ValueError as error:
                raise InvalidPublicKeys(str(error)) from None
            keys.append(PublicKey(key_id, raw, active))
        return cls(keys)

    def get(self, key_id: str) -> PublicKey:
        """The key named ``key_id``; ``UnknownSigningKey`` if there is none."""
        try:
            return self._keys[key_id]
        except KeyError:
            known = ", ".join(self._keys) or "none"
            raise UnknownSigningKey(
                f"the receipt was signed with key {key_id!r}, not among the keys ({known})"
            ) from None

    def to_json(self) -> dict[str, Any]:
        """The JSON of ``GET /v1/keys``."""
        return {"data": [key.to_json() for key in self], "has_more": False}

    def __iter__(self) -> Iterator[PublicKey]:
        return iter(self._keys.values())

    def __len__(self) -> int:
        return len(self._keys)


class SigningKeys:
    """Kleline's private signing keys by id: the active one signs, all of them are published for verification."""

    __slots__ = ("_active_id", "_keys")

    def __init__(self, seeds: Mapping[str, bytes], active_id: str) -> None:
        keys: dict[str, Ed25519PrivateKey] = {}
        for key_id, seed in seeds.items():
            if not isinstance(key_id, str) or not KEY_ID_PATTERN.match(key_id):
                raise InvalidSigningKeyConfig(f"a signing key id has {_KEY_ID_RULE}")
            if not isinstance(seed, bytes) or len(seed) != SEED_SIZE:
                raise InvalidSigningKeyConfig(f"signing key {key_id!r} must be a {SEED_SIZE}-byte Ed25519 seed")
            keys[key_id] = Ed25519PrivateKey.from_private_bytes(seed)
        if active_id not in keys:
            raise InvalidSigningKeyConfig(f"the active signing key {active_id!r} is not among the configured keys")
        self._keys: Mapping[str, Ed25519PrivateKey] = MappingProxyType(keys)
        self._active_id = active_id

    @classmethod
    def parse(cls, text: str) -> SigningKeys:
        """Read ``"k2:<base64 seed>,k1:<base64 seed>"``, the first key active."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidSigningKeyConfig(f"no receipt signing key configured: {_CONFIG_FORMAT}")
        seeds: dict[str, bytes] = {}
        for position, entry in enumerate(text.split(","), start=1):
            key_id, colon, encoded = entry.strip().partition(":")
            if not colon:
                raise InvalidSigningKeyConfig(f"signing key entry {position} has no key id: {_CONFIG_FORMAT}")
            if not KEY_ID_PATTERN.match(key_id):
                raise InvalidSigningKeyConfig(f"signing key entry {position} has an invalid id: {_KEY_ID_RULE}")
            if key_id in seeds:
                raise InvalidSigningKeyConfig(f"signing key id {key_id!r} appears twice")
            try:
                seed = base64.b64decode(encoded.strip(), validate=True)
            except ValueError:  # binascii.Error, or a non-ASCII character
                raise InvalidSigningKeyConfig(f"signing key {key_id!r} is not valid standard base64") from None
            if len(seed) != SEED_SIZE:
                raise InvalidSigningKeyConfig(
                    f"signing key {key_id!r} must decode to {SEED_SIZE} bytes, got {len(seed)}"
                )
            seeds[key_id] = seed
        return cls(seeds, active_id=next(iter(seeds)))

    @classmethod
    def from_config(cls, text: str, env: str) -> SigningKeys:
        """Parse the configured keys, refusing the development key unless ``env`` is ``"development"``."""
        keys = cls.parse(text)
        if env != "development" and any(keys._public_raw(key_id) == _DEVELOPMENT_PUBLIC_KEY for key_id in keys.key_ids):
            raise InvalidSigningKeyConfig(
                f"the development receipt signing key is refused when env is {env!r}: configure your own keys"
            )
        return keys

    @property
    def active_id(self) -> str:
        """The id of the key that signs new receipts."""
        return self._active_id

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Every configured key id, the active one first."""
        return tuple(self._keys)

    def _public_raw(self, key_id: str) -> bytes:
        return self._keys[key_id].public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def sign(self, receipt: Receipt) -> SignedReceipt:
        """Sign ``receipt``'s canonical bytes with the active key."""
        value = self._keys[self._active_id].sign(canonical_bytes(receipt.document()))
        return SignedReceipt(receipt, Signature(self._active_id, b64url_encode(value)))

    def public_keys(self) -> PublicKeys:
        """The verification keys of every configured key, the active one first and marked so."""
        return PublicKeys(
            PublicKey(key_id, self._public_raw(key_id), key_id == self._active_id) for key_id in self._keys
        )

    def __repr__(self) -> str:
        return f"SigningKeys(active_id={self._active_id!r}, key_ids={self.key_ids!r})"


_DEVELOPMENT_PUBLIC_KEY: Final = SigningKeys.parse(DEVELOPMENT_RECEIPT_SIGNING_KEYS)._public_raw("dev1")


def generate_signing_key(key_id: str) -> str:
    """A new random signing key as one configuration entry, ``"<key_id>:<base64 seed>"``."""
    if not isinstance(key_id, str) or not KEY_ID_PATTERN.match(key_id):
        raise InvalidSigningKeyConfig(f"a signing key id has {_KEY_ID_RULE}")
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(SEED_SIZE)).decode('ascii')}"


def _signature(document: Mapping[str, Any]) -> tuple[str, bytes]:
    block = document.get("signature")
    if block is None:
        raise MalformedReceipt("the receipt has no signature", param="signature")
    if not isinstance(block, Mapping) or block.keys() != {"key_id", "algorithm", "value"}:
        raise MalformedReceipt("signature must be an object of key_id, algorithm and value", param="signature")
    if block["algorithm"] != ALGORITHM:
        raise MalformedReceipt(f"signature.algorithm must be {ALGORITHM!r}", param="signature.algorithm")
    key_id = block["key_id"]
    if not isinstance(key_id, str) or not KEY_ID_PATTERN.match(key_id):
        raise MalformedReceipt(f"signature.key_id has {_KEY_ID_RULE}", param="signature.key_id")
    try:
        value = b64url_decode(block["value"], SIGNATURE_SIZE, "signature.value")
    except ValueError as error:
        raise MalformedReceipt(str(error), param="signature.value") from None
    return key_id, value


def verify(document: object, keys: PublicKeys) -> Receipt:
    """Check a signed receipt (parsed JSON) against ``keys``; the receipt it attests, or a ``ReceiptError``."""
    if isinstance(document, SignedReceipt):
        document = document.to_json()
    if not isinstance(document, Mapping):
        raise MalformedReceipt("a receipt is a JSON object")
    key_id, value = _signature(document)
    receipt = parse_receipt(document)
    public_key = Ed25519PublicKey.from_public_bytes(keys.get(key_id).raw)
    try:
        public_key.verify(value, canonical_bytes(document))
    except InvalidSignature:
        raise BadSignature(
            f"the signature does not match the document under key {key_id!r}: the receipt was altered, "
            "or another key signed it"
        ) from None
    return receipt
