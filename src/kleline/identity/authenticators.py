"""A kind of people's authenticator apps (``AuthenticatorApps``): a TOTP secret shown once and sealed at rest under
a purpose of the kind's own, confirmed by a first code, checked at sign-in against its guard, replaced, and re-wrapped
when the master key rotates.

A person without a confirmed app sets one up (``new_secret``, ``start``, ``confirm_new``): a new secret replaces one
no code confirmed yet. A person with one *replaces* it: the new secret waits beside the confirmed one
(``totp_next_*``, ``REPLACEMENT_WINDOW`` at most) until a code from the new app is accepted, and only then takes its
place, so that a replacement left half-way locks nobody out and lets nobody in. Every method that writes works in
the caller's transaction, so that the act and its audit record are kept together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from kleline.clock import epoch_us, from_epoch_us
from kleline.db.engine import Database, RawTx
from kleline.identity import authenticator_store as apps
from kleline.identity import lockout
from kleline.identity.directory import Directory
from kleline.identity.second_factor import CodeCheck, check_code, normalise_code
from kleline.wallet import sca
from kleline.wallet.sca import Enrolment
from kleline.wallet.strong_auth import EnrolmentCodeInvalid
from kleline.wallet.vault import MasterKeys, SealedCard, open_bytes, rewrap, seal_bytes

__all__ = ["REPLACEMENT_WINDOW", "AuthenticatorApps", "AuthenticatorState"]

AuthenticatorState = Literal["none", "pending", "confirmed", "replacing"]

REPLACEMENT_WINDOW: Final = timedelta(minutes=10)
"""How long a new authenticator app may take to be confirmed in place of the old one."""


@dataclass(frozen=True, slots=True)
class AuthenticatorApps:
    """The authenticator apps of the people of ``directory``, their secrets sealed under ``keys`` for ``purpose``
    (a secret sealed for one kind can never be opened as another's, nor as a customer's or a card)."""

    directory: Directory
    keys: MasterKeys
    purpose: bytes

    def new_secret(self, account_name: str) -> tuple[Enrolment, SealedCard]:
        """A fresh secret for ``account_name`` (to show once), and its sealed form (to store)."""
        enrolment = sca.enrol(account_name)
        return enrolment, seal_bytes(enrolment.secret.encode("ascii"), self.keys, self.purpose)

    def save_first(self, tx: RawTx, user_id: str, sealed: SealedCard, at: datetime) -> bool:
        """Store ``sealed`` as the person's app to confirm, in place of one no code confirmed; False when an app is
        confirmed already."""
        return apps.save_pending_authenticator(tx, self.directory, user_id, sealed, epoch_us(at))

    def start(self, tx: RawTx, user_id: str, sealed: SealedCard, at: datetime) -> bool:
        """Store ``sealed`` as the person's new app: the first (to confirm), or one waiting beside the confirmed app
        to replace it; False when there is no such person (its row is locked meanwhile)."""
        found = apps.find_authenticator(tx, self.directory, user_id)
        if found is None:
            return False
        if found.confirmed:
            apps.save_replacement(tx, self.directory, user_id, sealed, epoch_us(at))
        else:
            apps.save_pending_authenticator(tx, self.directory, user_id, sealed, epoch_us(at))
        return True

    def confirm_first(self, tx: RawTx, user_id: str, code: str, now: datetime) -> None:
        """Confirm the person's first app with the code it shows now (``EnrolmentCodeInvalid`` otherwise); the
        code's time step cannot be used again."""
        d = self.directory
        found = apps.find_authenticator(tx, d, user_id)
        if found is None or found.sealed is None or found.confirmed:
            raise EnrolmentCodeInvalid("no new authenticator to confirm: set one up first", param="code")
        step = sca.code_matches(self._secret(found.sealed), normalise_code(code), now)
        if step is None:
            raise EnrolmentCodeInvalid("this is not the code the authenticator shows now", param="code")
        apps.confirm_authenticator(tx, d, user_id, epoch_us(now))
        apps.save_guard(tx, d, user_id, sca.AuthGuard(0, step))

    def confirm_new(self, tx: RawTx, user_id: str, code: str, now: datetime) -> bool:
        """Confirm the app ``start`` stored with the code it shows now: it becomes the person's, in place of the old
        one if any (True: it replaced one). ``EnrolmentCodeInvalid`` for a wrong code, none to confirm, or a
        replacement not confirmed within ``REPLACEMENT_WINDOW``."""
        d = self.directory
        found = apps.find_authenticator(tx, d, user_id)
        replacing = apps.find_replacement(tx, d, user_id) if found is not None and found.confirmed else None
        if found is None or (replacing is None and (found.confirmed or found.sealed is None)):
            raise EnrolmentCodeInvalid("no new authenticator to confirm: set one up first", param="code")
        if replacing is not None and now >= from_epoch_us(replacing[1]) + REPLACEMENT_WINDOW:
            raise EnrolmentCodeInvalid("the new authenticator was not confirmed in time: start again", param="code")
        sealed = replacing[0] if replacing is not None else found.sealed
        assert sealed is not None
        step = sca.code_matches(self._secret(sealed), normalise_code(code), now)
        if step is None:
            raise EnrolmentCodeInvalid("this is not the code the authenticator shows now", param="code")
        at = epoch_us(now)
        if replacing is not None:
            apps.adopt_replacement(tx, d, user_id, at, step)
        else:
            apps.confirm_authenticator(tx, d, user_id, at)
            apps.save_guard(tx, d, user_id, sca.AuthGuard(0, step))
        return replacing is not None

    def check(self, tx: RawTx, user_id: str, code: str, now: datetime, lock_until: datetime) -> CodeCheck | None:
        """Check a code from the person's confirmed app under its row lock, and store the guard; the fifth wrong code
        in a row locks the person out until ``lock_until`` and ends its sessions. None: no confirmed app."""
        d = self.directory
        found = apps.find_authenticator(tx, d, user_id)
        if found is None or found.sealed is None or not found.confirmed:
            return None
        checked = check_code(self._secret(found.sealed), code, now, found.guard)
        apps.save_guard(tx, d, user_id, checked.guard)
        if checked.blocked:
            lockout.lock_out(tx, d, user_id, epoch_us(lock_until))
        return checked

    def state(self, tx: RawTx, user_id: str, now: datetime) -> AuthenticatorState:
        """Where the person's app stands: ``none``; ``pending`` (set up, no code accepted yet); ``confirmed``; or
        ``replacing`` (confirmed, and a new one waiting for its first code, still in time)."""
        found = apps.find_authenticator(tx, self.directory, user_id)
        replacing = apps.find_replacement(tx, self.directory, user_id)
        if found is None or found.sealed is None:
            return "none"
        if not found.confirmed:
            return "pending"
        if replacing is not None and now < from_epoch_us(replacing[1]) + REPLACEMENT_WINDOW:
            return "replacing"
        return "confirmed"

    def rotate_keys(self, db: Database, batch: int = 100) -> int:
        """Re-wrap every sealed secret (and every replacement being set up) under the active master key, in batches
        (resumable); how many moved."""
        moved = 0
        slots: tuple[apps.SecretSlot, ...] = ("current", "replacement")
        for slot in slots:
            while True:
                with db.transaction() as tx:
                    due = apps.authenticators_not_under(tx, self.directory, self.keys.active_id, batch, slot)
                    for user_id, sealed in due:
                        rewrapped = rewrap(sealed, self.keys)
                        apps.save_rewrapped(tx, self.directory, user_id, sealed.key_id, rewrapped, slot)
                moved += len(due)
                if len(due) < batch:
                    break
        return moved

    def _secret(self, sealed: SealedCard) -> str:
        return open_bytes(sealed, self.keys, self.purpose).decode("ascii")
