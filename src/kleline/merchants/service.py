"""Merchants' use cases: registration, approval, refusal and suspension, secret keys, and the checks payments rely on.

Anyone may register a shop through the API; it starts ``pending`` with a first secret key, so that it can read its
own data and prepare its integration, but ``require_active`` refuses it payments until an operator approves it (or
refuses it, saying why). Registration is split for the use cases that record more in the same transaction (the
join form records the shop's first owner with it): ``new_merchant`` checks, ``record_application`` writes.

A commission rate changes by four eyes (``kleline.proposals``): ``check_commission_rate_in`` when one operator
proposes it, ``set_commission_rate_in`` in the transaction of a second one's approval; payments keep the rate they
were made at.

Every operator act here takes the ``StaffActor`` who does it: its role is checked for the act's power before anything
is written, and the act is recorded in the staff audit trail in its own transaction (``kleline.staff.audit``). A
merchant acting for itself (its own keys, its profile) passes no actor and leaves no staff record.

Approval opens the merchant's balance in the ledger (``merchant:<id>:balance``, EUR, floor 0) before the status
changes, so that an active merchant always has somewhere for its money to go. Secret keys (``sk_...``, 256 random
bits) are stored as SHA-256 digests: a slow hash protects guessable secrets, not random ones, and would slow every
request.
"""

from __future__ import annotations

import builtins
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import replace
from typing import get_args

from kleline.clock import Clock, epoch_us
from kleline.db.engine import Database, RawTx
from kleline.db.prefixes import ascii_lower
from kleline.errors import KlelineError
from kleline.ids import new_id
from kleline.ledger import Ledger, NormalSide
from kleline.merchants import checks, store
from kleline.merchants.application import MAX_MALLS, check_application
from kleline.merchants.errors import (
    CommissionRateChanged,
    InvalidMerchant,
    InvalidMerchantKey,
    MerchantNotActive,
    StatusConflict,
    UnknownKey,
    UnknownMerchant,
)
from kleline.merchants.model import (
    BALANCE_CURRENCY,
    Application,
    Merchant,
    MerchantKey,
    MerchantStatus,
    NewKey,
    StatusAction,
    balance_account,
    next_status,
)
from kleline.merchants.rate_changes import Rate, check_rate_change, take_rate_change
from kleline.merchants.review import ApplicationReview, review
from kleline.staff import audit
from kleline.staff.actor import StaffActor
from kleline.staff.roles import Power

__all__ = ["KEY_PREFIX", "MAX_MALLS", "SEARCH_LIMIT", "STATUSES", "Merchants"]

STATUSES = get_args(MerchantStatus)
KEY_PREFIX = "sk_"
SEARCH_LIMIT = 100
_COMMISSION = Rate(
    "fee_bps",
    "commission",
    checks.check_fee_bps,
    store.set_fee,
    CommissionRateChanged,
    " (a new merchant's is set when it is registered)",
)
"""The longest search text Kleline's staff may look merchants up by."""


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


class Merchants:
    """Registration, approval, suspension, keys, and who may take payments."""

    def __init__(self, db: Database, ledger: Ledger, *, clock: Clock) -> None:
        self._db = db
        self._ledger = ledger
        self._clock = clock

    def register(
        self,
        *,
        name: str,
        email: str,
        iban: str,
        bic: str | None = None,
        siret: str | None = None,
        website: str | None = None,
        category: str | None = None,
        mall_ids: Sequence[str] = (),
        fee_bps: int | None = None,
        description: str | None = None,
        vat_number: str | None = None,
        contact_name: str | None = None,
        contact_phone: str | None = None,
        actor: StaffActor | None = None,
    ) -> tuple[Merchant, str]:
        """Register a merchant (``pending``): the merchant and its first secret key, shown this once. The first
        problem of the application is raised (``application_problems`` lists them all). An operator (``actor``)
        registering one is recorded; only one whose role decides merchants may set ``fee_bps``."""
        if actor is not None and fee_bps is not None:
            actor.require(Power.DECIDE_MERCHANTS)
        application = Application(
            name=name,
            email=email,
            iban=iban,
            bic=bic,
            siret=siret,
            vat_number=vat_number,
            website=website,
            category=category,
            description=description,
            mall_ids=tuple(mall_ids),
            fee_bps=fee_bps,
            contact_name=contact_name,
            contact_phone=contact_phone,
        )
        merchant = self.new_merchant(application)
        with self._db.transaction() as tx:
            self.record_application(tx, merchant)
            secret = self._insert_key(tx, merchant.id).secret
            if actor is not None:
                after = {"status": merchant.status, "fee_bps": merchant.fee_bps, "iban_last4": merchant.iban[-4:]}
                audit.record(
                    tx, actor, "merchant_registered", "merchant", merchant.id, at=merchant.created_at, after=after
                )
        return merchant, secret

    def application_problems(
        self, application: Application, *, required: frozenset[str] = frozenset()
    ) -> builtins.list[KlelineError]:
        """Every problem of an application, in the order of its fields (malls that do not exist among them), for a
        form to show together; empty when it may be recorded."""
        checked, problems = check_application(application, required)
        found: builtins.list[KlelineError] = list(problems)
        malls = tuple(dict.fromkeys(application.mall_ids)) if checked is None else checked.mall_ids
        if malls and not any(problem.param == "mall_ids" for problem in problems):
            with self._db.transaction(write=False) as tx:
                missing = store.missing_malls(tx, malls)
            if missing:
                found.append(InvalidMerchant(f"mall_ids: no mall {', '.join(missing)}", param="mall_ids"))
        return found

    def new_merchant(self, application: Application, *, required: frozenset[str] = frozenset()) -> Merchant:
        """The pending merchant an application makes, not yet recorded (``record_application``); its first problem
        raised otherwise."""
        checked, problems = check_application(application, required)
        if checked is None:
            raise problems[0]
        now = self._clock()
        return Merchant(
            id=new_id("mer"),
            name=checked.name,
            email=checked.email,
            website=checked.website,
            category=checked.category,
            siret=checked.siret,
            iban=checked.iban,
            bic=checked.bic,
            fee_bps=checked.fee_bps,
            status="pending",
            mall_ids=tuple(sorted(checked.mall_ids)),
            created_at=now,
            description=checked.description,
            vat_number=checked.vat_number,
            contact_name=checked.contact_name,
            contact_phone=checked.contact_phone,
            status_changed_at=now,
        )

    @staticmethod
    def record_application(tx: RawTx, merchant: Merchant) -> None:
        """Record a merchant ``new_merchant`` made, with its malls, in the caller's transaction (so that a use case
        that makes more, such as its first user, keeps all or nothing); ``InvalidMerchant`` if a mall does not
        exist. No secret key is made here: the caller decides whether one is, and where it is shown."""
        missing = store.missing_malls(tx, merchant.mall_ids)
        if missing:
            raise InvalidMerchant(f"mall_ids: no mall {', '.join(missing)}", param="mall_ids")
        at = epoch_us(merchant.created_at)
        store.insert_merchant(tx, merchant, at)
        store.insert_memberships(tx, merchant.id, merchant.mall_ids, at)

    def get(self, merchant_id: str) -> Merchant:
        """A merchant by id; ``UnknownMerchant`` (404, ``not_found``) when there is none."""
        with self._db.transaction(write=False) as tx:
            merchant = store.find_merchant(tx, merchant_id)
        if merchant is None:
            raise UnknownMerchant(f"no merchant {merchant_id}")
        return merchant

    def review(self, merchant_id: str) -> ApplicationReview:
        """``merchant_id``'s application as compliance reviews it: each check again, and merchants sharing its IBAN
        or SIRET; ``UnknownMerchant`` when there is none."""
        with self._db.transaction(write=False) as tx:
            merchant = store.find_merchant(tx, merchant_id)
            if merchant is None:
                raise UnknownMerchant(f"no merchant {merchant_id}")
            return review(tx, merchant)

    def listed(self, merchant_id: str) -> Merchant:
        """A merchant as the public may see it: only an active one (``UnknownMerchant``, 404, for a pending,
        suspended or unknown id, so that the public pages reveal nothing of a shop that is not open)."""
        merchant = self.get(merchant_id)
        if not merchant.is_active:
            raise UnknownMerchant(f"no merchant {merchant_id}")
        return merchant

    def describe(
        self,
        merchant_id: str,
        *,
        description: str | None,
        website: str | None,
        actor: StaffActor | None = None,
    ) -> Merchant:
        """Set what the shop sells and its website, as the malls' pages show them (None clears one): the merchant
        itself, or an operator (``actor``) whose role manages settings, recorded."""
        if actor is not None:
            actor.require(Power.MANAGE_SETTINGS)
        checked = checks.check_description(description), checks.check_website(website)
        with self._db.transaction() as tx:
            before = store.find_merchant(tx, merchant_id, for_update=actor is not None)
            if before is None or not store.set_profile(tx, merchant_id, *checked):
                raise UnknownMerchant(f"no merchant {merchant_id}")
            if actor is not None:
                audit.record(
                    tx,
                    actor,
                    "merchant_profile_changed",
                    "merchant",
                    merchant_id,
                    at=self._clock(),
                    before={"description": before.description, "website": before.website},
                    after={"description": checked[0], "website": checked[1]},
                )
        return self.get(merchant_id)

    def count(self, status: str) -> int:
        """How many merchants are in ``status`` (``pending``: the applications waiting for a decision)."""
        if status not in STATUSES:
            raise InvalidMerchant(f"status: one of {', '.join(STATUSES)}", param="status")
        with self._db.transaction(write=False) as tx:
            return store.count_merchants(tx, status)

    def list(
        self, *, limit: int = 100, starting_after: str | None = None, status: str | None = None
    ) -> builtins.list[Merchant]:
        """Up to ``limit`` merchants, newest first, after the merchant ``starting_after``, of one status if given."""
        if status is not None and status not in STATUSES:
            raise InvalidMerchant(f"status: one of {', '.join(STATUSES)}", param="status")
        with self._db.transaction(write=False) as tx:
            cursor = None
            if starting_after is not None:
                cursor = store.cursor_of(tx, starting_after)
                if cursor is None:
                    raise InvalidMerchant(f"starting_after: no merchant {starting_after}", param="starting_after")
            return store.list_merchants(tx, limit=limit, starting_after=cursor, status=status)

    def search(self, query: str, *, limit: int = 20) -> tuple[builtins.list[Merchant], bool]:
        """Merchants for Kleline's staff, by name: those whose name holds ``query`` (in either case), or whose id,
        SIRET (spaces ignored) or email begins with it; up to ``limit``, and whether there were more."""
        text = query.strip()
        if not 1 <= len(text) <= SEARCH_LIMIT:
            raise InvalidMerchant(f"query: give 1 to {SEARCH_LIMIT} characters", param="query")
        digits = text.replace(" ", "")
        with self._db.transaction(write=False) as tx:
            found = store.search_merchants(
                tx,
                contains=ascii_lower(text),
                id_prefix=text if text.startswith("mer_") else None,
                siret_prefix=digits if digits.isdigit() else None,
                email_prefix=text.lower(),
                limit=limit + 1,
            )
        return found[:limit], len(found) > limit

    def approve(self, merchant_id: str, *, actor: StaffActor, fee_bps: int | None = None) -> Merchant:
        """Make a pending, suspended or refused merchant active, opening its balance account first; the reason of a
        refusal or suspension goes. ``actor``'s role must decide merchants; the act is recorded.

        ``fee_bps`` (300 to 400) sets the commission rate with a merchant's first approval, in the same transaction
        and audit record: its first rate, not a change; a merchant approved before changes its rate only through a
        proposal a second operator approves (``kleline.proposals``)."""
        actor.require(Power.DECIDE_MERCHANTS)
        if fee_bps is not None:
            checks.check_fee_bps(fee_bps)
        # Checked before the account opens (no account for a refused approval), and again under the row's lock.
        merchant = self.get(merchant_id)
        self._check_transition("approve", merchant)
        if fee_bps is not None:
            self._check_first_approval(merchant)
        self._ledger.open_account(balance_account(merchant_id), BALANCE_CURRENCY, NormalSide.CREDIT, floor=0)
        return self._move("approve", merchant_id, None, actor, fee_bps=fee_bps)

    @staticmethod
    def _check_first_approval(merchant: Merchant) -> None:
        if merchant.approved_at is not None:
            raise StatusConflict(
                f"merchant {merchant.id} was approved before: its commission rate changes through a proposal that a "
                "second operator approves",
                status=merchant.status,
            )

    def suspend(self, merchant_id: str, reason: str | None = None, *, actor: StaffActor) -> Merchant:
        """Stop an active merchant from taking payments (its balance stays, to be paid out); ``reason``, if given,
        is what the merchant reads on its dashboard. ``actor``'s role must decide merchants; the act is recorded."""
        actor.require(Power.DECIDE_MERCHANTS)
        return self._move("suspend", merchant_id, checks.check_reason(reason, required=False), actor)

    def refuse(self, merchant_id: str, reason: str, *, actor: StaffActor) -> Merchant:
        """Refuse a pending merchant's application, saying why (the merchant reads ``reason`` on its dashboard).
        ``actor``'s role must decide merchants; the act is recorded."""
        actor.require(Power.DECIDE_MERCHANTS)
        return self._move("refuse", merchant_id, checks.check_reason(reason, required=True), actor)

    def check_commission_rate_in(self, tx: RawTx, merchant_id: str, fee_bps: int) -> Merchant:
        """The merchant, if its commission rate may become ``fee_bps`` (300 to 400 basis points, another rate than
        its own, an active or suspended merchant); the refusal otherwise. Read in the caller's transaction, writes
        nothing: what a proposal to change the rate checks."""
        return check_rate_change(tx, merchant_id, _COMMISSION, fee_bps)

    def set_commission_rate_in(self, tx: RawTx, merchant_id: str, fee_bps: int, *, previous: int) -> Merchant:
        """Take ``fee_bps`` on the merchant's next payments, in the caller's transaction under the merchant's row lock,
        if its rate is still ``previous`` (``CommissionRateChanged`` otherwise: the change was decided from that rate).
        Payments made before keep the rate they recorded. The interfaces reach this through a proposal that a second
        operator approves (``kleline.proposals``)."""
        return take_rate_change(tx, merchant_id, _COMMISSION, fee_bps, previous=previous)

    def _move(
        self,
        action: StatusAction,
        merchant_id: str,
        reason: str | None,
        actor: StaffActor,
        *,
        fee_bps: int | None = None,
    ) -> Merchant:
        with self._db.transaction() as tx:
            merchant = store.find_merchant(tx, merchant_id, for_update=True)
            if merchant is None:
                raise UnknownMerchant(f"no merchant {merchant_id}")
            target = self._check_transition(action, merchant)
            before: dict[str, object] = {"status": merchant.status, "status_reason": merchant.status_reason}
            after: dict[str, object] = {"status": target, "status_reason": reason}
            if fee_bps is not None:
                self._check_first_approval(merchant)
                store.set_fee(tx, merchant_id, fee_bps)
                before["fee_bps"], after["fee_bps"] = merchant.fee_bps, fee_bps
            now = self._clock()
            store.set_status(tx, merchant_id, target, epoch_us(now), reason)
            audit.record(
                tx,
                actor,
                _recorded_as(action, merchant.status),
                "merchant",
                merchant_id,
                at=now,
                before=before,
                after=after,
            )
        approved_at = merchant.approved_at or (now if target == "active" else None)
        fee = merchant.fee_bps if fee_bps is None else fee_bps
        return replace(
            merchant, status=target, approved_at=approved_at, status_reason=reason, status_changed_at=now, fee_bps=fee
        )

    @staticmethod
    def _check_transition(action: StatusAction, merchant: Merchant) -> MerchantStatus:
        target = next_status(action, merchant.status)
        if target is None:
            allowed = {
                "approve": "a pending, suspended or refused merchant can be approved",
                "suspend": "an active merchant can be suspended",
                "refuse": "a pending merchant can be refused",
            }[action]
            raise StatusConflict(
                f"merchant {merchant.id} is {merchant.status}: only {allowed}",
                status=merchant.status,
            )
        return target

    def require_active(self, merchant_id: str, doing: str = "take payments", *, tx: RawTx | None = None) -> Merchant:
        """The merchant, if it may take payments (and capture them); ``MerchantNotActive`` (403) if pending or
        suspended. ``doing`` names the refused act in the message. With ``tx``, read in the caller's transaction."""
        if tx is None:
            merchant = self.get(merchant_id)
        else:
            found = store.find_merchant(tx, merchant_id)
            if found is None:
                raise UnknownMerchant(f"no merchant {merchant_id}")
            merchant = found
        return _active(merchant, doing)

    def check_active(self, merchant: Merchant, doing: str = "take payments") -> Merchant:
        """``merchant``, read by the caller with something else in one statement, if it may take payments (and
        capture them); ``MerchantNotActive`` (403) as ``require_active`` says otherwise."""
        return _active(merchant, doing)

    def authenticate_active(self, tx: RawTx, secret: str, doing: str = "take payments") -> Merchant:
        """The merchant behind a live secret key, if it may take payments, read in the caller's transaction in one
        query: ``InvalidMerchantKey`` (401) for an unknown or revoked key, ``MerchantNotActive`` (403) otherwise.

        No cache: the key and the merchant's status are read in the very transaction that takes the payment, so
        a key revoked or a merchant suspended before it began is refused, and one revoked or suspended while it
        runs takes effect from the next request (the same as for a check made in a transaction of its own)."""
        if not secret.startswith(KEY_PREFIX):
            raise InvalidMerchantKey("not a merchant secret key")
        merchant = store.merchant_of_key(tx, _digest(secret))
        if merchant is None:
            raise InvalidMerchantKey("unknown or revoked secret key")
        return _active(merchant, doing)

    def require_not_suspended(self, merchant_id: str, doing: str) -> Merchant:
        """The merchant, unless it is suspended or refused (``MerchantNotActive``, 403): what a pending merchant may
        do to prepare its integration (keys, webhook endpoints), a suspended or refused one may not start anew."""
        merchant = self.get(merchant_id)
        _refuse_if_suspended(merchant, doing)
        return merchant

    def create_key(self, merchant_id: str, *, actor: StaffActor | None = None) -> NewKey:
        """A new secret key for the merchant; its secret is returned here and never again. A suspended merchant
        gets none (``MerchantNotActive``), whoever asks: its live keys still read, refund and revoke. An operator
        (``actor``) must decide merchants, and is recorded (the key's id, never its secret)."""
        if actor is not None:
            actor.require(Power.DECIDE_MERCHANTS)
        with self._db.transaction() as tx:
            merchant = store.find_merchant(tx, merchant_id)
            if merchant is None:
                raise UnknownMerchant(f"no merchant {merchant_id}")
            _refuse_if_suspended(merchant, "get new keys")
            new = self._insert_key(tx, merchant_id)
            if actor is not None:
                after = {"key_id": new.key.id}
                audit.record(
                    tx, actor, "merchant_key_created", "merchant", merchant_id, at=new.key.created_at, after=after
                )
            return new

    def _insert_key(self, tx: RawTx, merchant_id: str) -> NewKey:
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        now = self._clock()
        key = MerchantKey(new_id("key"), merchant_id, secret[-4:], now, None)
        store.insert_key(tx, key, _digest(secret), epoch_us(now))
        return NewKey(key, secret)

    def keys(self, merchant_id: str) -> builtins.list[MerchantKey]:
        """The merchant's keys, live and revoked, newest first (never their secrets)."""
        with self._db.transaction(write=False) as tx:
            if store.find_merchant(tx, merchant_id) is None:
                raise UnknownMerchant(f"no merchant {merchant_id}")
            return store.list_keys(tx, merchant_id)

    def revoke_key(self, merchant_id: str, key_id: str, *, actor: StaffActor | None = None) -> None:
        """Revoke one of the merchant's keys: it no longer authenticates anything (revoking twice is harmless). An
        operator (``actor``) must decide merchants, and is recorded."""
        if actor is not None:
            actor.require(Power.DECIDE_MERCHANTS)
        with self._db.transaction() as tx:
            now = self._clock()
            if not store.revoke_key(tx, merchant_id, key_id, epoch_us(now)):
                raise UnknownKey(f"merchant {merchant_id} has no key {key_id}")
            if actor is not None:
                audit.record(
                    tx, actor, "merchant_key_revoked", "merchant", merchant_id, at=now, after={"key_id": key_id}
                )

    def authenticate(self, secret: str) -> str:
        """The merchant id behind a live secret key; ``InvalidMerchantKey`` (401) otherwise."""
        if not secret.startswith(KEY_PREFIX):
            raise InvalidMerchantKey("not a merchant secret key")
        with self._db.transaction(write=False) as tx:
            merchant_id = store.key_merchant(tx, _digest(secret))
        if merchant_id is None:
            raise InvalidMerchantKey("unknown or revoked secret key")
        return merchant_id


def _recorded_as(action: StatusAction, status: MerchantStatus) -> str:
    """The audit trail's name of a status change: approving a suspended merchant reactivates it."""
    if action == "approve":
        return "merchant_reactivated" if status == "suspended" else "merchant_approved"
    return "merchant_suspended" if action == "suspend" else "merchant_refused"


def _refuse_if_suspended(merchant: Merchant, doing: str) -> None:
    if merchant.status in ("suspended", "refused"):
        raise MerchantNotActive(
            f"merchant {merchant.id} is {merchant.status}: it cannot {doing}", merchant_status=merchant.status
        )


def _active(merchant: Merchant, doing: str) -> Merchant:
    if not merchant.is_active:
        reason = {"pending": "awaits approval", "refused": "was refused"}.get(merchant.status, "is suspended")
        raise MerchantNotActive(f"merchant {merchant.id} {reason}: it cannot {doing}", merchant_status=merchant.status)
    return merchant
