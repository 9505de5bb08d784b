"""Prefixed, random, URL-safe identifiers (``ent_…``, ``pay_…``), as API.md lists them."""

from __future__ import annotations

import secrets

__all__ = ["new_id"]

PREFIXES = frozenset(
    {
        "cus",
        "card",
        "mer",
        "mall",
        "pay",
        "re",
        "po",
        "top",
        "evt",
        "we",
        "ent",
        "sr",
        "hold",
        "op",
        "sk",
        "ct",
        "sca",
        "rcpt",
        "wd",
        "cs",
        "key",
        "ba",  # a customer's bank account (direct debits)
        "dd",  # a direct debit collection (35 characters: fits a SEPA end-to-end id)
        "cr",  # a collection run (one pain.008 file)
        "pk",  # a customer's passkey (a WebAuthn credential)
        "wac",  # a WebAuthn ceremony (registration, sign-in or payment)
        "si",  # a sign-in, as the customer's security page lists them
        "mu",  # a merchant user: a person who signs in to a merchant's dashboard
        "inv",  # an invitation to join a merchant's dashboard
        "aud",  # a record of a merchant's audit trail
        "bac",  # a change of a merchant's bank account, pending until an operator approves it
        "st",  # a staff user: a person of Kleline's who signs in to the operator console
        "sti",  # an invitation to join Kleline's staff
        "sae",  # a record of the staff audit trail
        "prop",  # a proposal awaiting a second staff member's approval (four eyes)
        "ic",  # a run of the integrity check (the books' chains and balances, and the staff audit trail)
        "cns",  # a grant or withdrawal in the consent ledger
        "ofr",  # a merchant's offer to an audience
        "arl",  # a noisy audience figure released to a merchant (it spends privacy budget)
    }
)


def new_id(prefix: str) -> str:
    """A new identifier with ``prefix``: 128 random bits, so collisions are not a practical concern."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    return f"{prefix}_{secrets.token_hex(16)}"
