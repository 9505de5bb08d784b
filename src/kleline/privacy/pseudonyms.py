"""Per-merchant pseudonyms: what a merchant knows a customer by, unless the customer chose to tell it more.

``cpn_`` + base32 of HMAC-SHA256(key, merchant id, customer id): stable for one merchant (its payments, webhooks,
exports and statements agree on one customer), unlinkable across merchants (two merchants comparing their files
learn nothing without the key), and never reversed: Kleline maps back through its own rows (a payment names its
customer), not through the pseudonym. The key comes from configuration; a published development key is refused
outside development, and the key is never rotated (a new key would make every merchant see new customers).
"""

from __future__ import annotations

import base64
import functools
import hmac
import re
from typing import Final

from kleline.config import DEVELOPMENT_PSEUDONYM_KEY
from kleline.wallet.vault import InvalidKeyConfig

__all__ = ["PSEUDONYM", "Pseudonyms"]

PSEUDONYM: Final = re.compile(r"^cpn_[a-z2-7]{32}$")
"""A pseudonym's shape: ``cpn_`` and 32 lower-case base32 characters (160 bits of the MAC)."""
_KEY_SIZE: Final = 32
_REMEMBERED: Final = 16_384
"""Pseudonyms remembered per process: a payment names its customer three times (its answer, its events, its
receipt), each an HMAC and a base32 encoding in Python, while it holds its row (and on SQLite the write) lock."""


class Pseudonyms:
    """Computes the pseudonym of a customer for a merchant; pure, no database.

    ``of(merchant_id, customer_id)``: the customer's pseudonym for that merchant (``cpn_...``), remembered for the
    latest pairs asked.
    """

    __slots__ = ("_key", "of")

    def __init__(self, key: bytes) -> None:
        if len(key) < _KEY_SIZE:
            raise InvalidKeyConfig(f"the pseudonym key must decode to at least {_KEY_SIZE} bytes, got {len(key)}")
        self._key = key
        self.of = functools.lru_cache(maxsize=_REMEMBERED)(self._pseudonym)

    @classmethod
    def from_config(cls, text: str, env: str) -> Pseudonyms:
        """Decode the configured key (base64, 32 bytes or more), refusing the development key outside development."""
        try:
            key = base64.b64decode(text.strip(), validate=True)
        except ValueError:
            raise InvalidKeyConfig("the pseudonym key is not valid standard base64") from None
        if env != "development" and key == base64.b64decode(DEVELOPMENT_PSEUDONYM_KEY):
            raise InvalidKeyConfig(f"the development pseudonym key is refused when env is {env!r}: configure your own")
        return cls(key)

    def _pseudonym(self, merchant_id: str, customer_id: str) -> str:
        """The customer's pseudonym for this merchant, computed (``of`` remembers it)."""
        # The separator cannot occur in an id, so ("mer_a", "bcus_x") and ("mer_ab", "cus_x") never collide.
        mac = hmac.digest(self._key, f"{merchant_id}\x00{customer_id}".encode(), "sha256")[:20]
        return "cpn_" + base64.b32encode(mac).decode("ascii").lower()

    def __repr__(self) -> str:
        return "Pseudonyms(key=***)"
