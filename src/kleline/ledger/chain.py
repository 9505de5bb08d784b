"""Tamper evidence: each entry's canonical content is hashed and linked into one of several hash chains.

Why several chains: one global chain would make every writer wait for the previous entry's hash. The journal is
split over ``shards`` chains (an entry goes to a random one; a batch takes one chain for all its entries), so that
concurrent writers rarely meet, while every chain still covers each of its entries and its predecessor: an edited
entry no longer matches its content hash, a deleted one leaves a gap in its chain's sequence, and a recomputed
hash no longer matches the next link or the chain's head.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from json.encoder import encode_basestring as _string

from kleline.db.engine import link_hash as link
from kleline.ledger.model import Metadata, Posting

__all__ = ["GENESIS", "canonical_content", "content_hash", "link"]

GENESIS = bytes(32)


def canonical_content(
    entry_id: str, posted_at_us: int, description: str, metadata: Metadata, postings: Iterable[Posting]
) -> bytes:
    """The bytes an entry's hash covers: one compact JSON array, keys sorted, postings in their order.

    Written out by hand with JSON's own string escaping, because ``json.dumps`` over the whole document costs more
    than everything else a transfer does in Python; the output is byte for byte what ``json.dumps(document,
    sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` gives (a test holds it to that).
    """
    legs = ",".join(f"[{_string(p.account)},{p.amount},{_string(p.currency)}]" for p in postings)
    meta = _json(dict(metadata)) if metadata else "{}"
    return f"[{_string(entry_id)},{posted_at_us},{_string(description)},{meta},[{legs}]]".encode()


def _json(document: object) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(
    entry_id: str, posted_at_us: int, description: str, metadata: Metadata, postings: Iterable[Posting]
) -> bytes:
    """SHA-256 of the entry's canonical content."""
    return hashlib.sha256(canonical_content(entry_id, posted_at_us, description, metadata, postings)).digest()
