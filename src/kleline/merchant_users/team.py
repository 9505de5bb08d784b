"""A merchant's team: invitations, accepting one, roles, removal, and the audit trail's reading.

Each use case is one transaction that also writes its audit record. Who acts is an ``audit.Actor`` (a signed-in user
and its address), checked against the permission table (``model.can``) and against the merchant: an actor only ever
reaches its own merchant's users, invitations and records (another merchant's ids are ``UnknownMerchantUser``, as
if they did not exist). An operator at the command line invites with ``by=None``.

An invitation is a random 256-bit token in a link (``{public_url}/dashboard/invitations/{token}``), shown once and
stored as a SHA-256 digest, valid 72 hours, used once: accepting it marks it with one conditional UPDATE, so that two
browsers following the link at once cannot both make an account. A new invitation to the same address withdraws the
merchant's pending ones. The person chooses a name and a password (the customers' password rules); the email is the
invitation's. An email has one dashboard account at a time, across merchants.

Team changes take the merchant's row lock (``store.lock_team``) and re-read the acting owner under it, so that two
owners demoting each other at once cannot leave the merchant without one (``model.team_change_refusal``).
"""

from __future__ import annotations

import builtins
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Final

from kleline.clock import Clock, epoch_us
from kleline.db.engine import INTEGRITY_ERRORS, Database, RawTx
from kleline.errors import KlelineError
from kleline.ids import new_id
from kleline.merchant_users import audit, store
from kleline.merchant_users.audit import Actor
from kleline.merchant_users.errors import (
    AlreadyAMember,
    InvalidMerchantUser,
    InvitationUnusable,
    LastOwner,
    NotAllowed,
    UnknownMerchantUser,
)
from kleline.merchant_users.model import (
    INVITATION_LIFETIME,
    ROLES,
    Action,
    AuditRecord,
    Invitation,
    MerchantUser,
    Role,
    invitation_state,
    team_change_refusal,
)
from kleline.merchants import UnknownMerchant
from kleline.money import check_minor
from kleline.staff import audit as staff_audit
from kleline.staff.actor import StaffActor
from kleline.staff.roles import Power
from kleline.wallet.customers import InvalidCustomer, hash_password, normalise_email, password_problems

__all__ = [
    "INVITATION_PATH",
    "MAX_REFUND_LIMIT",
    "MerchantUsers",
    "NewInvitation",
    "acceptance_problems",
    "invitation_problems",
]

INVITATION_PATH: Final = "/dashboard/invitations/"
MAX_REFUND_LIMIT: Final = 100_000_000
"""The largest refund limit an owner may give a support user: one million euros, in cents."""
_ACTIVITY_PAGE: Final = 100


@dataclass(frozen=True, slots=True)
class NewInvitation:
    """An invitation just made: ``url`` (its link, with the token) is shown this once and never stored."""

    invitation: Invitation
    url: str = field(repr=False)

    @property
    def token(self) -> str:
        """The link's secret part (its last path segment)."""
        return self.url.rsplit("/", 1)[1]


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def acceptance_problems(name: str, password: str) -> list[KlelineError]:
    """Every rule the name and password chosen to accept an invitation break (all of them, for a form to show
    together); empty when they will do."""
    problems: list[KlelineError] = []
    if not 1 <= len(name.strip()) <= 200:
        problems.append(InvalidMerchantUser("name: give 1 to 200 characters", param="name"))
    problems.extend(password_problems(password))
    return problems


def invitation_problems(email: str, role: str, refund_limit: int | None) -> list[KlelineError]:
    """Every rule an invitation breaks (email, role, refund limit), all of them, for a form to show together; empty
    when it may be made (the address may still belong to the team already)."""
    problems: list[KlelineError] = []
    for check in (lambda: _check_email(email), lambda: _check_refund_limit(_check_role(role), refund_limit)):
        try:
            check()
        except InvalidMerchantUser as refused:
            problems.append(refused)
    return problems


def _check_role(role: str) -> Role:
    if role not in ROLES:
        raise InvalidMerchantUser(f"role: one of {', '.join(ROLES)}", param="role")
    return role


def _check_refund_limit(role: Role, refund_limit: int | None) -> int | None:
    """A support user's limit (none given: nothing may be refunded until an owner sets one); None for other roles."""
    if role != "support":
        if refund_limit is not None:
            raise InvalidMerchantUser("refund_limit: only a support user has a refund limit", param="refund_limit")
        return None
    limit = 0 if refund_limit is None else check_minor(refund_limit)
    if not 0 <= limit <= MAX_REFUND_LIMIT:
        raise InvalidMerchantUser(
            f"refund_limit: from 0 to {MAX_REFUND_LIMIT} (minor units of EUR)", param="refund_limit"
        )
    return limit


def _check_email(email: str) -> str:
    try:
        return normalise_email(email.strip())
    except InvalidCustomer as refused:
        raise InvalidMerchantUser(refused.detail, param="email") from None


class MerchantUsers:
    """Invite, accept, list, change roles, remove, and read the audit trail."""

    def __init__(self, db: Database, *, clock: Clock, public_url: str) -> None:
        self._db = db
        self._clock = clock
        self._public_url = public_url.rstrip("/")

    # Invitations ---------------------------------------------------------------------------------------------------

    def invite(
        self,
        merchant_id: str,
        email: str,
        role: str,
        refund_limit: int | None = None,
        *,
        by: Actor | StaffActor,
    ) -> NewInvitation:
        """A single-use link for ``email`` to join ``merchant_id`` as ``role``, valid 72 hours; ``by`` must be an
        owner of the merchant, or an operator whose role decides merchants (recorded in the staff audit trail)."""
        operator = by if isinstance(by, StaffActor) else None
        if operator is not None:
            operator.require(Power.DECIDE_MERCHANTS)
        owner = by if isinstance(by, Actor) else None
        checked_role = _check_role(role)
        limit = _check_refund_limit(checked_role, refund_limit)
        address = _check_email(email)
        now = self._clock()
        token = secrets.token_urlsafe(32)
        invitation = Invitation(
            id=new_id("inv"),
            merchant_id=merchant_id,
            email=address,
            role=checked_role,
            refund_limit=limit,
            invited_by=None if owner is None else owner.user.id,
            created_at=now,
            expires_at=now + INVITATION_LIFETIME,
        )
        with self._db.transaction() as tx:
            self._team(tx, merchant_id, owner, "invite")
            if any(user.email == address for user in store.list_users(tx, merchant_id)):
                raise AlreadyAMember(f"{address} is already a user of this merchant", param="email")
            store.withdraw_pending_for(tx, merchant_id, address, epoch_us(now))
            store.insert_invitation(tx, invitation, _digest(token), epoch_us(now), epoch_us(invitation.expires_at))
            detail = {"email": address, "role": checked_role, "refund_limit": limit}
            self._record(tx, merchant_id, owner, "invitation_created", invitation.id, detail)
            if operator is not None:  # no email in the staff trail: it is kept for ever, personal data is not
                after = {"invitation_id": invitation.id, "role": checked_role}
                staff_audit.record(tx, operator, "merchant_user_invited", "merchant", merchant_id, at=now, after=after)
        return NewInvitation(invitation, f"{self._public_url}{INVITATION_PATH}{token}")

    def invitation(self, token: str) -> Invitation:
        """The pending invitation behind a link's token; ``InvitationUnusable`` (saying why) otherwise."""
        with self._db.transaction(write=False) as tx:
            invitation = store.find_invitation_by_token(tx, _digest(token)) if 0 < len(token) <= 200 else None
        return self._usable(invitation)

    def _usable(self, invitation: Invitation | None) -> Invitation:
        if invitation is None:
            raise InvitationUnusable("no such invitation: check the link", reason="unknown")
        state = invitation_state(invitation, self._clock())
        if state == "pending":
            return invitation
        sentences = {
            "accepted": "this invitation was already accepted: sign in instead",
            "withdrawn": "this invitation was withdrawn: ask for a new one",
            "expired": "this invitation has expired: ask for a new one",
        }
        raise InvitationUnusable(sentences[state], reason=state)

    def accept(self, token: str, name: str, password: str, *, address: str | None = None) -> MerchantUser:
        """Accept an invitation: a new user with the invitation's email and role, and the name and password
        chosen. The invitation is used up."""
        problems = acceptance_problems(name, password)
        if problems:
            raise problems[0]
        password_hash = hash_password(password)  # slow on purpose: before the transaction, not inside it
        now = self._clock()
        try:
            with self._db.transaction() as tx:
                invitation = self._usable(store.find_invitation_by_token(tx, _digest(token)))
                if not store.accept_invitation(tx, invitation.id, epoch_us(now)):
                    raise InvitationUnusable("this invitation was already accepted: sign in instead", reason="accepted")
                if store.find_user_by_email(tx, invitation.email) is not None:
                    raise AlreadyAMember(f"{invitation.email} already has a dashboard account", param="email")
                user = MerchantUser(
                    id=new_id("mu"),
                    merchant_id=invitation.merchant_id,
                    email=invitation.email,
                    name=name.strip(),
                    role=invitation.role,
                    refund_limit=invitation.refund_limit,
                    authenticator=False,
                    created_at=now,
                )
                store.insert_user(tx, user, password_hash, epoch_us(now))
                detail = {"invitation": invitation.id, "role": user.role}
                audit.record(
                    tx, user.merchant_id, user.id, "invitation_accepted", epoch_us(now),
                    object_id=user.id, detail=detail, address=address,
                )  # fmt: skip
        except INTEGRITY_ERRORS:
            raise AlreadyAMember("this address already has a dashboard account", param="email") from None
        return user

    def invitations(self, actor: Actor) -> builtins.list[Invitation]:
        """The actor's merchant's pending invitations, newest first."""
        self._allowed(actor, "read")
        with self._db.transaction(write=False) as tx:
            return store.pending_invitations(tx, actor.user.merchant_id, epoch_us(self._clock()))

    def withdraw(self, actor: Actor, invitation_id: str) -> None:
        """Withdraw one of the merchant's pending invitations: its link no longer works."""
        merchant_id = actor.user.merchant_id
        with self._db.transaction() as tx:
            self._team(tx, merchant_id, actor, "manage_users")
            invitation = store.find_invitation(tx, merchant_id, invitation_id)
            if invitation is None or not store.withdraw_invitation(tx, invitation_id, epoch_us(self._clock())):
                raise UnknownMerchantUser(f"no pending invitation {invitation_id}")
            detail = {"email": invitation.email, "role": invitation.role}
            self._record(tx, merchant_id, actor, "invitation_withdrawn", invitation_id, detail)

    # Users ---------------------------------------------------------------------------------------------------------

    def get(self, actor: Actor, user_id: str) -> MerchantUser:
        """One of the actor's merchant's users."""
        self._allowed(actor, "read")
        with self._db.transaction(write=False) as tx:
            user = store.find_user(tx, user_id, actor.user.merchant_id)
        if user is None:
            raise UnknownMerchantUser(f"no user {user_id}")
        return user

    def list(self, actor: Actor) -> builtins.list[MerchantUser]:
        """The actor's merchant's users, oldest first."""
        self._allowed(actor, "read")
        with self._db.transaction(write=False) as tx:
            return store.list_users(tx, actor.user.merchant_id)

    def change_role(self, actor: Actor, user_id: str, role: str, refund_limit: int | None = None) -> MerchantUser:
        """Give a user another role (and a support user its refund limit); the last owner keeps its role."""
        checked_role = _check_role(role)
        limit = _check_refund_limit(checked_role, refund_limit)
        merchant_id = actor.user.merchant_id
        with self._db.transaction() as tx:
            self._team(tx, merchant_id, actor, "manage_users")
            user = self._member(tx, merchant_id, user_id)
            refusal = team_change_refusal(store.count_owners(tx, merchant_id), user.role, checked_role)
            if refusal is not None:
                raise LastOwner(refusal, param="role")
            store.set_role(tx, user.id, checked_role, limit)
            detail = {"email": user.email, "from": user.role, "to": checked_role, "refund_limit": limit}
            self._record(tx, merchant_id, actor, "user_role_changed", user.id, detail)
        return replace(user, role=checked_role, refund_limit=limit)

    def remove(self, actor: Actor, user_id: str) -> None:
        """Remove a user from the merchant: its sessions end and it can no longer sign in (its past actions stay in
        the trail, under its name); the last owner cannot be removed."""
        merchant_id = actor.user.merchant_id
        with self._db.transaction() as tx:
            self._team(tx, merchant_id, actor, "manage_users")
            user = self._member(tx, merchant_id, user_id)
            refusal = team_change_refusal(store.count_owners(tx, merchant_id), user.role, None)
            if refusal is not None:
                raise LastOwner(refusal)
            now = epoch_us(self._clock())
            store.remove_user(tx, user.id, now)
            self._record(tx, merchant_id, actor, "user_removed", user.id, {"email": user.email, "role": user.role})

    # The audit trail -----------------------------------------------------------------------------------------------

    def activity(
        self, actor: Actor, *, limit: int = 50, before: tuple[datetime, str] | None = None
    ) -> builtins.list[AuditRecord]:
        """The merchant's audit trail, newest first, ``limit`` at most (up to 100), before ``(at, id)`` if given:
        owners only."""
        self._allowed(actor, "activity")
        cursor = None if before is None else (epoch_us(before[0]), before[1])
        with self._db.transaction(write=False) as tx:
            return store.audit_page(tx, actor.user.merchant_id, min(max(limit, 1), _ACTIVITY_PAGE), cursor)

    def record(
        self, actor: Actor, action: str, object_id: str | None = None, detail: Mapping[str, object] | None = None
    ) -> None:
        """Append an action of ``actor`` to its merchant's trail in a transaction of its own (for a page whose
        service does not record it in the action's own transaction)."""
        with self._db.transaction() as tx:
            self._record(tx, actor.user.merchant_id, actor, action, object_id, detail or {})

    def recorded(self, actor: Actor, action: str, object_ids: builtins.list[str]) -> dict[str, dict[str, object]]:
        """What the merchant's trail recorded of ``action`` on each of ``object_ids`` (such as the label an API key
        was given when it was made): the actor's own merchant's records only."""
        with self._db.transaction(write=False) as tx:
            return store.audit_details(tx, actor.user.merchant_id, action, object_ids)

    # Helpers -------------------------------------------------------------------------------------------------------

    @staticmethod
    def _allowed(actor: Actor, action: Action) -> None:
        if not actor.user.can(action):
            raise NotAllowed(f"a user with the role {actor.user.role} cannot do this ({action})")

    def _team(self, tx: RawTx, merchant_id: str, actor: Actor | None, action: Action) -> None:
        """Lock the merchant's team, and check (under the lock) that the actor is still one of its users with a
        role that allows ``action``."""
        if not store.lock_team(tx, merchant_id):
            raise UnknownMerchant(f"no merchant {merchant_id}")
        if actor is None:
            return
        current = store.find_user(tx, actor.user.id, merchant_id)
        if current is None:
            raise NotAllowed("this user no longer belongs to the merchant")
        if not current.can(action):
            raise NotAllowed(f"a user with the role {current.role} cannot do this ({action})")

    @staticmethod
    def _member(tx: RawTx, merchant_id: str, user_id: str) -> MerchantUser:
        user = store.find_user(tx, user_id, merchant_id)
        if user is None:
            raise UnknownMerchantUser(f"no user {user_id}")
        return user

    def _record(
        self,
        tx: RawTx,
        merchant_id: str,
        actor: Actor | None,
        action: str,
        object_id: str | None,
        detail: Mapping[str, object],
    ) -> None:
        audit.record(
            tx,
            merchant_id,
            None if actor is None else actor.user.id,
            action,
            epoch_us(self._clock()),
            object_id=object_id,
            detail=detail,
            address=None if actor is None else actor.address,
        )
