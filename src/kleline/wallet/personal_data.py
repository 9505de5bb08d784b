"""Customers' personal data sealed under a key per customer, so that destroying the key erases it (crypto-shredding).

Each customer gets a random 256-bit *data key*, wrapped (RFC 3394) under the active master key exactly as the card
vault wraps a card's (``kleline.wallet.vault``: same ``MasterKeys``, same key ids, same rotation), and stored alone
in ``customer_keys`` (migration 0042). The customer's personal fields (email, name) are sealed under it with
AES-256-GCM: a random 96-bit nonce before the ciphertext, and associated data naming the format, the customer and
the field, so that a sealed email can be opened neither as another customer's nor as a name. Deleting the
``customer_keys`` row leaves ciphertexts that nobody can open, in the database, its files and every backup alike.

Two lookups must still work without the clear text:

- sign-in by email: a *blind index*, ``HMAC-SHA256(index key, normalised email)``, unique in ``customers``;
- the staff's search by the beginning of an email or a name: ``customer_search_tokens`` holds a keyed hash of each
  prefix (up to ``SEARCH_TOKEN_PREFIX`` characters) of the lower-cased email and of the name lower-cased in A-Z,
  looked up by equality. Both go at shredding.

The index key comes from configuration (``KLELINE_CUSTOMER_INDEX_KEY``), follows the fingerprint key's pattern (never
rotated: every index would be orphaned) and is distinct from it and from the master keys: a leak of one gives
nothing of the others. It must stay secret: email addresses are guessable, an unkeyed hash would be reversed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from kleline.config import DEVELOPMENT_CUSTOMER_INDEX_KEY, DEVELOPMENT_MASTER_KEYS
from kleline.db.prefixes import ascii_lower
from kleline.wallet.vault import KEY_SIZE, InvalidKeyConfig, MasterKeys, VaultError

__all__ = [
    "CustomerKey",
    "PersonalDataKeys",
    "SEARCH_TOKEN_PREFIX",
    "development_keys",
    "email_index",
    "index_key_from_config",
    "new_customer_key",
    "open_field",
    "rewrap_customer_key",
    "search_token",
    "search_tokens",
    "seal_field",
    "unwrap_customer_key",
]

NONCE_SIZE: Final = 12
SEARCH_TOKEN_PREFIX: Final = 32
"""The longest prefix hashed for the staff's search: a longer query is looked up by its first 32 characters, then
checked against the opened values."""
_FORMAT: Final = b"kleline-customer-v1"
_EMAIL_DOMAIN: Final = b"kleline-customer-email-v1:"
_SEARCH_DOMAIN: Final = b"kleline-customer-search-v1:"


@dataclass(frozen=True, slots=True)
class PersonalDataKeys:
    """The master keys that wrap customers' data keys, and the key of the blind index and search tokens."""

    master_keys: MasterKeys
    index_key: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class CustomerKey:
    """A customer's data key, in clear (``key``) and as stored (``key_id``, ``wrapped_key``)."""

    key: bytes = field(repr=False)
    key_id: str
    wrapped_key: bytes = field(repr=False)


def development_keys() -> PersonalDataKeys:
    """The published development keys (tests and development only; the configuration refuses them elsewhere)."""
    return PersonalDataKeys(
        MasterKeys.parse(DEVELOPMENT_MASTER_KEYS), index_key_from_config(DEVELOPMENT_CUSTOMER_INDEX_KEY, "development")
    )


def index_key_from_config(text: str, env: str) -> bytes:
    """Decode the configured index key (base64, 32 bytes or more); the development key is refused outside it."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidKeyConfig("no customer index key configured: expected at least 32 bytes in standard base64")
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except ValueError:
        raise InvalidKeyConfig("the customer index key is not valid standard base64") from None
    if len(key) < KEY_SIZE:
        raise InvalidKeyConfig(f"the customer index key must decode to at least {KEY_SIZE} bytes, got {len(key)}")
    if env != "development" and hmac.compare_digest(key, base64.b64decode(DEVELOPMENT_CUSTOMER_INDEX_KEY)):
        raise InvalidKeyConfig(f"the development customer index key is refused when env is {env!r}: configure your own")
    return key


def new_customer_key(keys: PersonalDataKeys) -> CustomerKey:
    """A fresh data key for a new customer, wrapped under the active master key."""
    master = keys.master_keys
    data_key = AESGCM.generate_key(bit_length=256)
    return CustomerKey(data_key, master.active_id, aes_key_wrap(master.key(master.active_id), data_key))


def unwrap_customer_key(key_id: str, wrapped_key: bytes, master_keys: MasterKeys) -> bytes:
    """The customer's data key; ``VaultError`` if the record was altered or its master key replaced."""
    try:
        return aes_key_unwrap(master_keys.key(key_id), bytes(wrapped_key))
    except (InvalidUnwrap, ValueError, TypeError) as error:
        raise VaultError(f"a customer's data key under master key {key_id!r} does not unwrap") from error


def rewrap_customer_key(key_id: str, wrapped_key: bytes, keys: PersonalDataKeys) -> CustomerKey:
    """The customer's data key wrapped under the active master key (``kleline keys rotate``); the key is unchanged,
    so nothing sealed under it needs sealing again."""
    data_key = unwrap_customer_key(key_id, wrapped_key, keys.master_keys)
    master = keys.master_keys
    return CustomerKey(data_key, master.active_id, aes_key_wrap(master.key(master.active_id), data_key))


def _associated(customer_id: str, name: str) -> bytes:
    return b"%s:%s:%s" % (_FORMAT, customer_id.encode("ascii"), name.encode("ascii"))


def seal_field(data_key: bytes, customer_id: str, name: str, value: str) -> bytes:
    """``value`` sealed for the customer's field ``name``: nonce then AES-GCM ciphertext."""
    nonce = secrets.token_bytes(NONCE_SIZE)
    return nonce + AESGCM(data_key).encrypt(nonce, value.encode("utf-8"), _associated(customer_id, name))


def open_field(data_key: bytes, customer_id: str, name: str, sealed: bytes) -> str:
    """The clear value of a sealed field; ``VaultError`` if it was altered or belongs to another customer or field."""
    blob = bytes(sealed)
    try:
        plain = AESGCM(data_key).decrypt(blob[:NONCE_SIZE], blob[NONCE_SIZE:], _associated(customer_id, name))
    except (InvalidTag, ValueError) as error:
        raise VaultError(f"a customer's sealed {name} fails authentication") from error
    return plain.decode("utf-8")


def email_index(email: str, index_key: bytes) -> str:
    """The blind index of a normalised email: equal for the same address, meaningless without the key."""
    return hmac.new(index_key, _EMAIL_DOMAIN + email.encode("utf-8"), hashlib.sha256).hexdigest()


def search_token(field_name: str, prefix: str, index_key: bytes) -> str:
    """The keyed hash of one prefix (at most ``SEARCH_TOKEN_PREFIX`` characters) of a field: 128 bits in hex."""
    message = _SEARCH_DOMAIN + field_name.encode("ascii") + b":" + prefix[:SEARCH_TOKEN_PREFIX].encode("utf-8")
    return hmac.new(index_key, message, hashlib.sha256).hexdigest()[:32]


def search_tokens(email: str, name: str, index_key: bytes) -> set[str]:
    """The tokens of every prefix of the lower-cased email and of the name lower-cased in A-Z."""
    tokens: set[str] = set()
    for field_name, text in (("email", email.lower()), ("name", ascii_lower(name))):
        for length in range(1, min(len(text), SEARCH_TOKEN_PREFIX) + 1):
            tokens.add(search_token(field_name, text[:length], index_key))
    return tokens
