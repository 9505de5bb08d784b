"""Where one kind of people is kept: the names the shared SQL (``lockout``, ``authenticator_store``,
``session_store``, ``passkey_store``) is written against."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Directory"]


@dataclass(frozen=True, slots=True)
class Directory:
    """A kind of people's tables: ``users`` (with the columns every kind shares: ``id``, ``password_hash``,
    ``failed_sign_ins``, ``locked_until``, ``totp_*`` and ``totp_next_*``), ``gone`` (the column of ``users`` that is
    set once a person may no longer sign in: removed, disabled) and ``sessions`` (``id_hash``, ``user_id``,
    ``stage``, ``csrf_secret``, ``second_factor_at``, ``created_at``, ``expires_at``), ``passkeys`` (``id``,
    ``user_id``, ``credential_id``, ``public_key``, ``sign_count``, ``name``, ``transports``, ``created_at``,
    ``last_used_at``) and ``ceremonies`` (``id``, ``purpose``, ``user_id``, ``nonce``, ``created_at``,
    ``expires_at``, ``used``).

    The names are the packages' own constants, written into SQL: never a value from a request."""

    users: str
    gone: str
    sessions: str
    passkeys: str
    ceremonies: str

    def __post_init__(self) -> None:
        for name in (self.users, self.gone, self.sessions, self.passkeys, self.ceremonies):
            if not name.replace("_", "").isalnum() or not name.islower():
                raise ValueError(f"not a table or column name: {name!r}")
