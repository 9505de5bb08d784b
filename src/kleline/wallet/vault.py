"""The card vault: envelope encryption of card numbers, and keyed fingerprints to spot the same card twice.

Each card gets its own random 256-bit *data key*; the number is sealed with it under AES-256-GCM (random 96-bit
nonce, associated data ``kleline-card-v1``). The data key is then wrapped (RFC 3394 AES key wrap, which checks its own
integrity and needs no nonce) under the active *master key*, which comes from configuration and never reaches the
database. A sealed record is ``SealedCard(key_id, wrapped_key, nonce, ciphertext)``: nothing in it is readable
without the master key named by ``key_id``.

Rotation without downtime: (1) put a new key first in the configuration, keeping the old ones after it
(``"k2:...,k1:..."``), and restart; new cards are sealed under ``k2`` while cards under ``k1`` still open.
(2) ``kleline keys rotate`` calls ``rewrap`` on every record: only the 40-byte wrapped key changes, never the
ciphertext, and a record already under the active key is returned as is, so the run can be interrupted and resumed.
(3) Once no record names ``k1``, drop it from the configuration.

The fingerprint key is separate from the master keys on purpose: a fingerprint is stored and indexed beside the
record and must stay the same for a card's lifetime, so its key can never rotate the way master keys do (that
would orphan every fingerprint); and one key per purpose means a leak of either does not give away the other.
It must be secret all the same: card numbers are so few that an unkeyed hash would be reversed by brute force.

Errors::

    KlelineError
     └── VaultError                 a sealed card cannot be opened or re-wrapped (altered, or the wrong key)
          ├── UnknownKeyId          the record names a master key that is not configured
          └── InvalidKeyConfig      key configuration malformed, or development keys outside development

Messages name key ids and positions, never key material.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

# Published keys (they decode to readable ASCII), so that development runs without configuration; refused elsewhere.
# Defined beside the settings whose defaults they are, re-exported here.
from kleline.config import DEVELOPMENT_FINGERPRINT_KEY, DEVELOPMENT_MASTER_KEYS
from kleline.errors import KlelineError
from kleline.wallet.cards import CardNumber, parse_card_number

__all__ = [
    "DEVELOPMENT_FINGERPRINT_KEY",
    "DEVELOPMENT_MASTER_KEYS",
    "InvalidKeyConfig",
    "MasterKeys",
    "SealedCard",
    "UnknownKeyId",
    "VaultError",
    "fingerprint",
    "fingerprint_key_from_config",
    "generate_master_key",
    "open_bytes",
    "open_sealed",
    "rewrap",
    "seal",
    "seal_bytes",
]

KEY_SIZE: Final = 32  # AES-256, for master and data keys; the minimum for fingerprint keys
NONCE_SIZE: Final = 12
ASSOCIATED_DATA: Final = b"kleline-card-v1"  # versions the format: a future v2 cannot be opened as v1
KEY_ID_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
_FINGERPRINT_DOMAIN: Final = b"kleline-card-fingerprint-v1:"

_CONFIG_FORMAT: Final = "expected 'id:base64key[,id:base64key...]', the active key first"
_KEY_ID_RULE: Final = "1-32 letters, digits, '_' or '-', starting with a letter or digit"


class VaultError(KlelineError):
    """A sealed card cannot be opened or re-wrapped: a field was altered, or it was sealed under another key."""

    code = "vault_error"
    status = 500


class UnknownKeyId(VaultError):
    """The record names a master key id that is not in the configuration (dropped before its records were rotated)."""

    code = "unknown_key_id"


class InvalidKeyConfig(VaultError):
    """The key configuration is malformed, or holds a development key outside development."""

    code = "invalid_key_config"


@dataclass(frozen=True, slots=True)
class SealedCard:
    """A card number at rest: the id of the master key that wrapped its data key, and three opaque byte strings."""

    key_id: str
    wrapped_key: bytes
    nonce: bytes
    ciphertext: bytes


def _decode_key(encoded: str, what: str) -> bytes:
    try:
        return base64.b64decode(encoded.strip(), validate=True)
    except ValueError:  # binascii.Error, or a non-ASCII character
        raise InvalidKeyConfig(f"{what} is not valid standard base64") from None


class MasterKeys:
    """Master keys by id: the active one wraps new data keys, the others only unwrap records not yet rotated."""

    __slots__ = ("_active_id", "_keys")

    def __init__(self, keys: Mapping[str, bytes], active_id: str) -> None:
        for key_id, key in keys.items():
            if not isinstance(key_id, str) or not KEY_ID_PATTERN.match(key_id):
                raise InvalidKeyConfig(f"a master key id has {_KEY_ID_RULE}")
            if not isinstance(key, bytes) or len(key) != KEY_SIZE:
                size = len(key) if isinstance(key, bytes) else type(key).__name__
                raise InvalidKeyConfig(f"master key {key_id!r} must be {KEY_SIZE} bytes, got {size}")
        if active_id not in keys:
            raise InvalidKeyConfig(f"the active master key {active_id!r} is not among the configured keys")
        self._keys: Mapping[str, bytes] = MappingProxyType(dict(keys))
        self._active_id = active_id

    @classmethod
    def parse(cls, text: str) -> MasterKeys:
        """Read ``"k2:<base64>,k1:<base64>"``: each key 32 bytes of standard base64, the first one active."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidKeyConfig(f"no master key configured: {_CONFIG_FORMAT}")
        keys: dict[str, bytes] = {}
        for position, entry in enumerate(text.split(","), start=1):
            if not entry.strip():
                raise InvalidKeyConfig(f"master key entry {position} is empty (a stray comma?): {_CONFIG_FORMAT}")
            key_id, colon, encoded = entry.strip().partition(":")
            if not colon:
                raise InvalidKeyConfig(f"master key entry {position} has no key id: {_CONFIG_FORMAT}")
            if not KEY_ID_PATTERN.match(key_id):
                raise InvalidKeyConfig(f"master key entry {position} has an invalid id: {_KEY_ID_RULE}")
            if key_id in keys:
                raise InvalidKeyConfig(f"master key id {key_id!r} appears twice")
            key = _decode_key(encoded, f"master key {key_id!r}")
            if len(key) != KEY_SIZE:
                raise InvalidKeyConfig(f"master key {key_id!r} must decode to {KEY_SIZE} bytes, got {len(key)}")
            keys[key_id] = key
        return cls(keys, active_id=next(iter(keys)))

    @classmethod
    def from_config(cls, text: str, env: str) -> MasterKeys:
        """Parse the configured keys, refusing any development key unless ``env`` is ``"development"``."""
        keys = cls.parse(text)
        if env != "development" and any(key in _DEVELOPMENT_KEYS for key in keys._keys.values()):
            raise InvalidKeyConfig(
                f"the development master key is refused when env is {env!r}: configure your own keys"
            )
        return keys

    @property
    def active_id(self) -> str:
        """The id of the key that wraps new data keys and that ``rewrap`` moves records to."""
        return self._active_id

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Every configured key id, the active one first."""
        return tuple(self._keys)

    def key(self, key_id: str) -> bytes:
        """The master key named ``key_id``; ``UnknownKeyId`` if it is not configured."""
        try:
            return self._keys[key_id]
        except KeyError:
            raise UnknownKeyId(f"master key {key_id!r} is not configured (was it removed before rotation?)") from None

    def __repr__(self) -> str:
        return f"MasterKeys(active_id={self._active_id!r}, key_ids={self.key_ids!r})"


_DEVELOPMENT_KEYS: Final = frozenset(MasterKeys.parse(DEVELOPMENT_MASTER_KEYS)._keys.values()) | {
    _decode_key(DEVELOPMENT_FINGERPRINT_KEY, "the development fingerprint key")
}


def generate_master_key(key_id: str) -> str:
    """A new random master key as one configuration entry, ``"<key_id>:<base64>"`` (for ``kleline keys``)."""
    if not isinstance(key_id, str) or not KEY_ID_PATTERN.match(key_id):
        raise InvalidKeyConfig(f"a master key id has {_KEY_ID_RULE}")
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_SIZE)).decode('ascii')}"


def seal(number: CardNumber, keys: MasterKeys) -> SealedCard:
    """Seal a card number under a fresh data key, itself wrapped under the active master key."""
    return seal_bytes(number.digits.encode("ascii"), keys, ASSOCIATED_DATA)


def seal_bytes(plaintext: bytes, keys: MasterKeys, purpose: bytes) -> SealedCard:
    """Seal any secret the way card numbers are sealed; ``purpose`` (associated data) keeps kinds apart, so that
    a sealed TOTP secret can never be opened as a card number or the reverse."""
    data_key = AESGCM.generate_key(bit_length=256)
    nonce = secrets.token_bytes(NONCE_SIZE)
    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, purpose)
    wrapped_key = aes_key_wrap(keys.key(keys.active_id), data_key)
    return SealedCard(keys.active_id, wrapped_key, nonce, ciphertext)


def _unwrap(sealed: SealedCard, keys: MasterKeys) -> bytes:
    master_key = keys.key(sealed.key_id)
    try:
        return aes_key_unwrap(master_key, bytes(sealed.wrapped_key))
    except (InvalidUnwrap, ValueError, TypeError) as error:
        raise VaultError(
            f"the data key of a card sealed under master key {sealed.key_id!r} does not unwrap: "
            "the record was altered, or that key was replaced"
        ) from error


def open_sealed(sealed: SealedCard, keys: MasterKeys) -> CardNumber:
    """Recover the card number; ``VaultError`` if any field was altered or the master key does not match."""
    return parse_card_number(open_bytes(sealed, keys, ASSOCIATED_DATA).decode("ascii"))


def open_bytes(sealed: SealedCard, keys: MasterKeys, purpose: bytes) -> bytes:
    """Recover a secret sealed by ``seal_bytes`` for ``purpose``; ``VaultError`` if anything was altered."""
    data_key = _unwrap(sealed, keys)
    try:
        return AESGCM(data_key).decrypt(bytes(sealed.nonce), bytes(sealed.ciphertext), purpose)
    except (InvalidTag, ValueError, TypeError) as error:
        raise VaultError("the sealed secret was altered (its nonce or ciphertext fails authentication)") from error


def rewrap(sealed: SealedCard, keys: MasterKeys) -> SealedCard:
    """Re-wrap the data key under the active master key, ciphertext untouched; as is if already under it."""
    if sealed.key_id == keys.active_id:
        return sealed
    data_key = _unwrap(sealed, keys)
    return replace(sealed, key_id=keys.active_id, wrapped_key=aes_key_wrap(keys.key(keys.active_id), data_key))


def fingerprint(number: CardNumber, fingerprint_key: bytes) -> str:
    """HMAC-SHA256 of the digits under the fingerprint key, in hex: equal for the same card, reveals nothing."""
    if not isinstance(fingerprint_key, bytes) or len(fingerprint_key) < KEY_SIZE:
        raise InvalidKeyConfig(f"a fingerprint key has at least {KEY_SIZE} bytes")
    message = _FINGERPRINT_DOMAIN + number.digits.encode("ascii")
    return hmac.new(fingerprint_key, message, hashlib.sha256).hexdigest()


def fingerprint_key_from_config(text: str, env: str) -> bytes:
    """Decode the configured fingerprint key (base64, 32 bytes or more), refusing the development key outside it."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidKeyConfig("no fingerprint key configured: expected at least 32 bytes in standard base64")
    key = _decode_key(text, "the fingerprint key")
    if len(key) < KEY_SIZE:
        raise InvalidKeyConfig(f"the fingerprint key must decode to at least {KEY_SIZE} bytes, got {len(key)}")
    if env != "development" and key in _DEVELOPMENT_KEYS:
        raise InvalidKeyConfig(f"the development fingerprint key is refused when env is {env!r}: configure your own")
    return key
