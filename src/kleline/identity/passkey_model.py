"""A back-office person's passkey and the ceremonies that register or ask for one, as plain values (standard library
only): merchant users' and staff users' alike, each kind in tables of its own (``Directory.passkeys``,
``Directory.ceremonies``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

__all__ = ["CeremonyPurpose", "Passkey", "PasskeyCeremony", "user_handle_of"]

CeremonyPurpose = Literal["register", "sign_in", "confirm"]


@dataclass(frozen=True, slots=True)
class Passkey:
    """A person's registered WebAuthn credential (a ``kleline.wallet.passkey.Credential``): ``credential_id`` and
    ``public_key`` as the authenticator gave them, the signature counter last seen, the name the person chose."""

    id: str
    user_id: str
    credential_id: bytes = field(repr=False)
    public_key: bytes = field(repr=False)
    sign_count: int
    name: str
    transports: tuple[str, ...]
    created_at: datetime
    last_used_at: datetime | None = None

    @property
    def user_handle(self) -> bytes:
        """The WebAuthn user handle it was made for: its person's id (nothing personal: the handle is not secret)."""
        return user_handle_of(self.user_id)


@dataclass(frozen=True, slots=True)
class PasskeyCeremony:
    """One challenge (``nonce``) for a person's authenticator: to register a passkey, to pass the sign-in's second
    step, or to confirm it is them before a sensitive act; used once, until ``expires_at``."""

    id: str
    purpose: CeremonyPurpose
    user_id: str
    nonce: bytes = field(repr=False)
    created_at: datetime
    expires_at: datetime
    used: bool = False


def user_handle_of(user_id: str) -> bytes:
    """The WebAuthn user handle of a back-office person: its id (``mu_...``, ``st_...``; never a customer's
    ``cus_...``)."""
    return user_id.encode("ascii")
