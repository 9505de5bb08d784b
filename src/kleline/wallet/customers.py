"""Customers: sign-up with an argon2-hashed password, sign-in tokens with an expiry, logout, lockout.

Sign-in never says whether it was the email or the password that was wrong, nor whether the account is locked
(``invalid_credentials`` for all three, with one sentence), so that nobody can probe which addresses hold a wallet: a
lock shown only to known addresses would tell them. Each refusal also costs the same work, one argon2 verification
and one conditional UPDATE, so that its time tells nothing either. Ten failures in a row lock the customer out for
thirty minutes (both configurable); a success resets the count. Attempts per client are bounded above this, by the
interfaces' rate limit (``kleline.ratelimit``). Tokens (``ct_...``, 256 random bits) are stored as
SHA-256 digests: a slow hash protects guessable secrets, not random ones, and would slow every request.

A customer's email and name are sealed under its own key (``kleline.wallet.personal_data``); an erased customer
(``kleline.customer_rights.erasure``) is refused at sign-in exactly as an unknown address is.

Every customer gets a EUR purse: a ledger account ``customer:<id>:purse`` with floor 0.

    KlelineError
     ├── ValidationError ── InvalidCustomer       email, password or name refused
     ├── ValidationError ── WrongPassword         the current password, to change it, is wrong
     ├── Conflict ────────── EmailTaken           a wallet already exists for this email
     └── AuthenticationFailed                     invalid_credentials, signed-in token invalid
          └── SignInLocked                        too many failed sign-ins: wait (the same answer, on purpose)
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from email_validator import EmailNotValidError, validate_email

from kleline.clock import Clock, epoch_us
from kleline.db.engine import INTEGRITY_ERRORS, Database, RawTx
from kleline.db.prefixes import ascii_lower
from kleline.errors import Conflict, KlelineError, NotFound, ValidationError
from kleline.ids import new_id
from kleline.ledger import Account, Ledger, NormalSide, UnknownAccount
from kleline.staff import audit
from kleline.staff.actor import StaffActor
from kleline.staff.roles import Power
from kleline.wallet import store
from kleline.wallet.model import Customer
from kleline.wallet.password_hashing import hash_password, password_matches, timing_equaliser
from kleline.wallet.personal_data import PersonalDataKeys, development_keys, email_index, rewrap_customer_key

__all__ = [
    "AuthenticationFailed",
    "Customer",
    "CustomerJoin",
    "CustomerTokens",
    "Customers",
    "EmailTaken",
    "InvalidCustomer",
    "LEVELS",
    "REFUSED_SIGN_IN",
    "SEARCH_LIMIT",
    "SignInLocked",
    "WrongPassword",
    "hash_password",
    "level_problems",
    "password_matches",
    "password_problems",
    "purse_code",
    "sign_up_problems",
]

MIN_PASSWORD = 12
MAX_PASSWORD = 1024
TOKEN_PREFIX = "ct_"
PURSE_CURRENCY = "EUR"
SEARCH_LIMIT = 100
"""The longest search text Kleline's staff may look customers up by."""

# The one sentence of every refused sign-in: an unknown email, a wrong password, a locked account.
REFUSED_SIGN_IN = "wrong email or password, or too many failed sign-ins: check them, or try again later"
# The customer id of the lockout's UPDATE for an address that holds no wallet: it matches no row, but costs the same.
_NOBODY = ""


class InvalidCustomer(ValidationError):
    """Sign-up data is refused: a malformed email, a short password, an empty name."""


class WrongPassword(ValidationError):
    """The current password given to change it is wrong (or its checks are locked for a while)."""

    code = "wrong_password"


class EmailTaken(Conflict):
    """A wallet already exists for this email."""

    code = "email_taken"


class AuthenticationFailed(KlelineError):
    """The email and password do not match, or the token is unknown, expired or revoked."""

    code = "invalid_credentials"
    status = 401


class SignInLocked(AuthenticationFailed):
    """Too many failed sign-ins in a row: sign-in is refused for a while, password unchecked.

    Its code, status and sentence are ``AuthenticationFailed``'s: to the caller, a locked account is a wrong email or
    password. Only the code below (and its tests) may tell them apart.
    """


@dataclass(frozen=True, slots=True)
class CustomerTokens:
    """A token as handed out at sign-in: ``token`` is shown once and never stored."""

    token: str
    customer_id: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class CustomerJoin:
    """What a query adds to read a customer beside its own row (``Customers.joined``): ``columns`` after its own,
    ``joins`` after its table, and ``decode`` for those ``width`` columns (None when there is no such customer, as
    ``Customers.get`` would refuse it)."""

    columns: str
    joins: str
    width: int
    decode: Callable[[Sequence[Any]], Customer | None]


def purse_code(customer_id: str) -> str:
    """The ledger account of a customer's purse."""
    return f"customer:{customer_id}:purse"


def normalise_email(email: str) -> str:
    """The canonical form of an email address; ``InvalidCustomer`` if it is not one."""
    try:
        return str(validate_email(email, check_deliverability=False).normalized).lower()
    except EmailNotValidError as error:
        raise InvalidCustomer(f"email: {error}", param="email") from None


def sign_up_problems(email: str, password: str, name: str) -> list[InvalidCustomer]:
    """Every rule a sign-up breaks (email, then password, then name), all of them, so that a form can show them
    together; empty when the wallet may be opened (the email may still be taken)."""
    problems: list[InvalidCustomer] = []
    try:
        normalise_email(email)
    except InvalidCustomer as refused:
        problems.append(refused)
    problems.extend(password_problems(password))
    if not 1 <= len(name.strip()) <= 200:
        problems.append(InvalidCustomer("name: give 1 to 200 characters", param="name"))
    return problems


def password_problems(password: str, param: str = "password") -> list[InvalidCustomer]:
    """The rule a new password breaks, if any (its length)."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        message = f"password: use {MIN_PASSWORD} to {MAX_PASSWORD} characters (a passphrase is best)"
        return [InvalidCustomer(message, param=param)]
    return []


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class Customers:
    """Sign-up, sign-in, token checks and logout."""

    def __init__(
        self,
        db: Database,
        ledger: Ledger,
        *,
        clock: Clock,
        token_ttl: timedelta = timedelta(hours=1),
        lockout_failures: int = 10,
        lockout: timedelta = timedelta(minutes=30),
        keys: PersonalDataKeys | None = None,
    ) -> None:
        self._db = db
        self.keys = keys or development_keys()
        self._ledger = ledger
        self._clock = clock
        self._token_ttl = token_ttl
        self._lockout_failures = lockout_failures
        self._lockout = lockout

    def sign_up(self, email: str, password: str, name: str) -> Customer:
        """Open a wallet: the customer and an empty EUR purse."""
        problems = sign_up_problems(email, password, name)
        if problems:
            raise problems[0]
        email, name = normalise_email(email), name.strip()
        customer = Customer(new_id("cus"), email, name, "unverified", self._clock())
        try:
            with self._db.transaction() as tx:
                store.insert_customer(tx, customer, hash_password(password), epoch_us(customer.created_at), self.keys)
        except INTEGRITY_ERRORS:
            raise EmailTaken("a wallet already exists for this email", param="email") from None
        self._ledger.open_account(purse_code(customer.id), PURSE_CURRENCY, NormalSide.CREDIT, floor=0)
        return customer

    def email_index_of(self, email: str) -> str | None:
        """The blind index of an email address as sign-up normalised it, or None if ``email`` is not one: other
        capabilities find a customer by email through it (a merchant's search), never holding the key."""
        try:
            return email_index(normalise_email(email), self.keys.index_key)
        except InvalidCustomer:
            return None

    def find(self, customer_id: str) -> Customer | None:
        """A customer by id, or None (for Kleline's staff, who are answered ``not_found`` rather than refused)."""
        with self._db.transaction(write=False) as tx:
            row = store.find_customer(tx, customer_id, self.keys)
        return None if row is None else row.customer

    def search(self, query: str, *, limit: int = 20) -> tuple[list[Customer], bool]:
        """Customers for Kleline's staff: by the beginning of their id (``cus_...``), of their email address (a
        query with an ``@``), or else of their name or email; each reading one range of an index. Up to ``limit``,
        name matches first, and whether there were more."""
        text = query.strip()
        if not 1 <= len(text) <= SEARCH_LIMIT:
            raise ValidationError(f"query: give 1 to {SEARCH_LIMIT} characters", param="query")
        if text.startswith("cus_"):
            readings = [("id", text)]
        elif "@" in text:
            readings = [("email", text.lower())]
        else:
            readings = [("name", ascii_lower(text)), ("email", text.lower())]
        found: dict[str, Customer] = {}
        with self._db.transaction(write=False) as tx:
            for field, prefix in readings:
                for customer in store.customers_by_prefix(tx, field, prefix, limit + 1, self.keys):
                    found.setdefault(customer.id, customer)
        matches = list(found.values())
        return matches[:limit], len(matches) > limit

    def rotate_keys(self, batch: int = 500) -> int:
        """Re-wrap every customer's data key not under the active master key, a batch per transaction (resumable);
        how many moved. Nothing sealed under the data keys changes."""
        active = self.keys.master_keys.active_id
        moved = 0
        while True:
            with self._db.transaction() as tx:
                found = store.customer_keys_to_rewrap(tx, active, batch)
                for customer_id, key_id, wrapped in found:
                    key = rewrap_customer_key(key_id, wrapped, self.keys)
                    moved += store.replace_customer_key_wrapping(tx, customer_id, key_id, key.key_id, key.wrapped_key)
            if len(found) < batch:
                return moved

    def purse(self, customer_id: str) -> Account:
        """The customer's purse account (opened here if a crash came between sign-up and its opening)."""
        try:
            return self._ledger.account(purse_code(customer_id))
        except UnknownAccount:
            return self._ledger.open_account(purse_code(customer_id), PURSE_CURRENCY, NormalSide.CREDIT, floor=0)

    def joined(self, on: str) -> CustomerJoin:
        """How another table's query reads, in the same statement, the customer whose id is its column ``on``
        (a page's session reads its signed-in customer so: as fresh as ``get``, without a statement of its own)."""
        columns, joins = store.customer_join(on)
        keys = self.keys
        return CustomerJoin(columns, joins, store.CUSTOMER_WIDTH, lambda row: store.customer_of_row(row, keys))

    def get(self, customer_id: str) -> Customer:
        """A customer by id."""
        with self._db.transaction(write=False) as tx:
            row = store.find_customer(tx, customer_id, self.keys)
        if row is None:
            raise AuthenticationFailed("unknown customer")
        return row.customer

    def sign_in(self, email: str, password: str) -> CustomerTokens:
        """A new token for the customer, if the password matches and the customer is not locked out."""
        customer_id = self.check_password(email, password)
        with self._db.transaction() as tx:
            return self.issue_token_in(tx, customer_id)

    def issue_token_in(self, tx: RawTx, customer_id: str) -> CustomerTokens:
        """A new token for ``customer_id``, stored in ``tx`` as its digest: for a caller that has already
        authenticated the customer (``sign_in``, or a set-up writing many signed-in customers at once)."""
        now = self._clock()
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        expires_at = now + self._token_ttl
        store.insert_token(tx, _digest(token), customer_id, epoch_us(now), epoch_us(expires_at))
        return CustomerTokens(token, customer_id, expires_at)

    def check_password(self, email: str, password: str) -> str:
        """The customer's id if the password matches and the customer is not locked out (the pages sign in with
        this and keep their own session; the API mints a token on top of it).

        Every refusal takes the same steps (a lookup, the lockout's UPDATE, one argon2 verification) and raises the
        same sentence, whether the address is malformed, unknown, locked out, or its password wrong.
        """
        now = self._clock()
        try:
            email = normalise_email(email)
        except InvalidCustomer:
            email = ""
        with self._db.transaction(write=False) as tx:
            row = store.find_customer_by_email(tx, email, self.keys) if email else None
        if row is not None and row.customer.erased_at is not None:
            row = None  # an erased customer signs in no more: refused as an unknown address, with the same work
        with self._db.transaction() as tx:
            allowed = store.take_sign_in_attempt(
                tx,
                row.customer.id if row else _NOBODY,
                self._lockout_failures,
                epoch_us(now),
                epoch_us(now + self._lockout),
            )
        matches = password_matches(row.password_hash if row is not None and allowed else timing_equaliser(), password)
        if row is None:
            raise AuthenticationFailed(REFUSED_SIGN_IN)
        if not allowed:
            raise SignInLocked(REFUSED_SIGN_IN)
        if not matches:
            raise AuthenticationFailed(REFUSED_SIGN_IN)
        with self._db.transaction() as tx:
            store.reset_failed_sign_ins(tx, row.customer.id)
        return row.customer.id

    def authenticate(self, token: str, *, tx: RawTx | None = None) -> str:
        """The customer id behind a live token; ``AuthenticationFailed`` otherwise. With ``tx``, read in the
        caller's transaction (no cache: a token revoked before it began is refused)."""
        if not token.startswith(TOKEN_PREFIX):
            raise AuthenticationFailed("not a customer token")
        if tx is not None:
            customer_id = store.live_token(tx, _digest(token), epoch_us(self._clock()))
        else:
            with self._db.transaction(write=False) as tx:
                customer_id = store.live_token(tx, _digest(token), epoch_us(self._clock()))
        if customer_id is None:
            raise AuthenticationFailed("unknown, expired or revoked token")
        return customer_id

    def sign_out(self, token: str) -> None:
        """Revoke ``token``: it no longer authenticates anything."""
        with self._db.transaction() as tx:
            store.revoke_token(tx, _digest(token), epoch_us(self._clock()))

    def check_current_password(self, customer_id: str, current: str) -> None:
        """``WrongPassword`` unless ``current`` is the customer's password; a wrong one counts toward the lockout, as
        a sign-in does (a session left open must not become a way to guess the password)."""
        with self._db.transaction(write=False) as tx:
            row = store.find_customer(tx, customer_id, self.keys)
        if row is None:
            raise AuthenticationFailed("unknown customer")
        now = self._clock()
        with self._db.transaction() as tx:
            allowed = store.take_sign_in_attempt(
                tx, row.customer.id, self._lockout_failures, epoch_us(now), epoch_us(now + self._lockout)
            )
        if not (allowed and password_matches(row.password_hash, current)):
            raise WrongPassword(
                "the current password is wrong, or too many failed attempts: try again later", param="current_password"
            )
        with self._db.transaction() as tx:
            store.reset_failed_sign_ins(tx, customer_id)

    def change_password(self, customer_id: str, current: str, new: str) -> None:
        """Replace the customer's password once ``current`` is checked, and sign the customer out everywhere:
        whoever knew the old password loses every session."""
        self.check_current_password(customer_id, current)
        problems = password_problems(new)
        if problems:
            raise problems[0]
        with self._db.transaction() as tx:
            store.set_password_hash(tx, customer_id, hash_password(new))
            store.end_every_session(tx, customer_id, epoch_us(self._clock()))

    def sign_out_everywhere(self, customer_id: str) -> None:
        """End every session of the customer: each API token is revoked, each page session ended."""
        with self._db.transaction() as tx:
            store.end_every_session(tx, customer_id, epoch_us(self._clock()))

    def verify(self, customer_id_or_email: str, *, actor: StaffActor) -> Customer:
        """Raise a customer to the verified level (after identity checks done elsewhere): ``actor``'s role must
        verify customers, and the change is recorded in the staff audit trail."""
        actor.require(Power.VERIFY_CUSTOMERS)
        with self._db.transaction() as tx:
            row = store.find_customer(tx, customer_id_or_email, self.keys) or store.find_customer_by_email(
                tx, customer_id_or_email.lower(), self.keys
            )
            if row is None:
                raise InvalidCustomer(f"no customer {customer_id_or_email}", param="customer")
            store.set_kyc_level(tx, row.customer.id, "verified")
            audit.record(
                tx,
                actor,
                "customer_verified",
                "customer",
                row.customer.id,
                at=self._clock(),
                before={"kyc_level": row.customer.kyc_level},
                after={"kyc_level": "verified"},
            )
        return self.get(row.customer.id)

    def set_level(self, customer_id: str, level: str, *, actor: StaffActor, reason: str) -> Customer:
        """Set a customer's verification level (``verified`` or ``unverified``), saying why: ``actor``'s role must
        verify customers; the change and its reason are recorded in the staff audit trail (before and after, as
        ``verify`` does). The level the customer has already changes nothing and records nothing, so that a retried
        call is harmless. Every problem with the level and the reason is named at once (``InvalidCustomer``)."""
        actor.require(Power.VERIFY_CUSTOMERS)
        reason = " ".join(reason.split())
        problems = level_problems(level, reason)
        if problems:
            raise problems[0]
        with self._db.transaction() as tx:
            row = store.find_customer(tx, customer_id, self.keys)
            if row is None:
                raise NotFound(f"no customer {customer_id}")
            if row.customer.kyc_level == level:
                return row.customer
            store.set_kyc_level(tx, customer_id, level)
            audit.record(
                tx,
                actor,
                "customer_verified" if level == "verified" else "customer_unverified",
                "customer",
                customer_id,
                at=self._clock(),
                before={"kyc_level": row.customer.kyc_level},
                after={"kyc_level": level, "reason": reason},
            )
        return self.get(customer_id)


LEVELS: Final = ("unverified", "verified")
MAX_LEVEL_REASON: Final = 500


def level_problems(level: str, reason: str) -> list[KlelineError]:
    """What is wrong with a new verification level and its reason, all of it, for a form to show."""
    problems: list[KlelineError] = []
    if level not in LEVELS:
        problems.append(InvalidCustomer(f"level: one of {', '.join(LEVELS)}", param="level"))
    reason = " ".join(reason.split())
    if not 1 <= len(reason) <= MAX_LEVEL_REASON:
        problems.append(InvalidCustomer(f"reason: say why in 1 to {MAX_LEVEL_REASON} characters", param="reason"))
    elif any(not character.isprintable() for character in reason):
        problems.append(InvalidCustomer("reason: control characters are not allowed", param="reason"))
    return problems
