"""Strong customer authentication (PSD2 RTS): a TOTP second factor, challenges bound to a payment, exemptions.

Plain immutable values and pure functions from the current state to the new one, with no database: a store
persists what comes back atomically, under a row lock or a compare-and-set on the old values (the functions are
pure, so a state that compares equal gives the same answer and an A-B-A update is harmless).

- Enrolment: a random base32 secret (160 bits) and its ``otpauth://`` URI, shown once. Seal the secret, do not hash
  it: every verification needs it in clear.
- Exemptions (RTS art. 16): a payment of at most ``single_limit`` skips the challenge while, since the last one, the
  cumulated amount stays within ``cumulative_limit`` (mode ``cumulative``) or the number of payments within
  ``max_payments`` (mode ``count``). ``decide`` assesses and records in one step: an exemption is consumed when
  granted, not when the payment succeeds, so that two concurrent payments cannot both spend the last headroom; a
  declined payment therefore still counts, which errs toward more challenges, never fewer.
- Challenges (RTS art. 4-5, dynamic linking): bound to one amount and one payee, valid five minutes, passed once;
  presented for another amount or payee, a challenge is void for good.
- The guard (RTS art. 4(3)(b)): five consecutive wrong codes block the customer until the guard is reset to
  ``AuthGuard()``. It keeps the last accepted TOTP time step too, so that a code seen once (over a shoulder, by a
  man in the middle) cannot pass a second challenge within its 90-second window. Only codes actually checked count
  as failures: a used, expired or mismatched challenge is refused before its code is read, so it teaches nothing.

Refusals are values: ``verify_challenge`` returns a ``Verification`` holding the new challenge and guard *and* the
error, since an exception would roll back the very transaction that must record the failure (a failure counter that
the refusal undoes protects nothing). The service persists both, commits, then raises ``error``::

    KlelineError
     └── ScaError
          ├── CodeInvalid              a wrong code, or one whose time step was already accepted
          ├── ChallengeExpired         five minutes or more after the challenge was issued
          ├── ChallengeUsed            the challenge was already passed
          ├── ChallengeMismatch        another amount or payee than the challenge's (which is then void)
          ├── AuthenticationBlocked    five consecutive wrong codes
          └── UnsupportedCurrency      an amount in another currency than the policy's (no FX here)
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Final, Literal

import pyotp

from kleline.errors import Conflict, KlelineError, ValidationError
from kleline.money import Money, check_minor

__all__ = [
    "CHALLENGE_LIFETIME",
    "MAX_FAILURES",
    "AuthGuard",
    "AuthenticationBlocked",
    "Challenge",
    "ChallengeExpired",
    "ChallengeMismatch",
    "ChallengeUsed",
    "CodeInvalid",
    "Decision",
    "Enrolment",
    "ExemptionMode",
    "ExemptionPolicy",
    "ExemptionState",
    "Reason",
    "ScaError",
    "UnsupportedCurrency",
    "Verification",
    "assess",
    "check_challenge",
    "code_matches",
    "decide",
    "enrol",
    "failed_attempt",
    "issue_challenge",
    "passed_with_passkey",
    "record_challenge_passed",
    "record_exempt_payment",
    "verify_challenge",
]

CHALLENGE_LIFETIME: Final = timedelta(minutes=5)
MAX_FAILURES: Final = 5
# One step of clock drift either way between the customer's phone and us (RFC 6238 section 5.2).
_DRIFT_STEPS: Final = (-1, 0, 1)

ExemptionMode = Literal["cumulative", "count"]
Reason = Literal["exempt", "above_single_limit", "cumulative_limit_reached", "payment_count_reached"]


class ScaError(KlelineError):
    """Root of the strong-authentication refusals."""

    code = "sca_error"


class CodeInvalid(ScaError):
    """The code is wrong, or its time step was already accepted for this customer; ``attempts_left`` wrong codes
    more are allowed before authentication is blocked (a page words it in its own language, with plural forms)."""

    code = "sca_code_invalid"
    status = 403

    def __init__(self, attempts_left: int) -> None:
        noun = "attempt" if attempts_left == 1 else "attempts"
        super().__init__(f"wrong or already used code; {attempts_left} {noun} left")
        self.attempts_left = attempts_left


class ChallengeExpired(ScaError):
    """The challenge is five minutes old or more: ask for a new one."""

    code = "sca_challenge_expired"
    status = 410


class ChallengeUsed(ScaError, Conflict):
    """The challenge was already passed; a payment needs a new one."""

    code = "sca_challenge_used"


class ChallengeMismatch(ScaError, Conflict):
    """The amount or payee differs from the challenge's, which is void from then on."""

    code = "sca_challenge_mismatch"


class AuthenticationBlocked(ScaError):
    """Five consecutive wrong codes: authentication stays blocked until the guard is reset."""

    code = "sca_blocked"
    status = 403


class UnsupportedCurrency(ScaError, ValidationError):
    """The amount is not in the currency of the exemption policy (limits are never converted)."""

    code = "sca_currency_unsupported"


@dataclass(frozen=True, slots=True)
class Enrolment:
    """A new TOTP secret and its provisioning URI; both hidden from ``repr`` so that logs never carry them."""

    secret: str = field(repr=False)
    provisioning_uri: str = field(repr=False)


def enrol(account_name: str, issuer: str = "Kleline") -> Enrolment:
    """A fresh TOTP secret for ``account_name`` and the URI an authenticator app scans (show it once)."""
    for param, value in (("account_name", account_name), ("issuer", issuer)):
        # The Key URI format separates issuer and account with a colon, so neither may contain one.
        if not value or ":" in value:
            raise ValidationError(f"{param} must be non-empty and contain no colon", param=param)
    secret = pyotp.random_base32()
    uri = pyotp.TOTP(secret).provisioning_uri(name=account_name, issuer_name=issuer)
    return Enrolment(secret, uri)


@dataclass(frozen=True, slots=True)
class ExemptionPolicy:
    """When a payment may skip the challenge; built from configuration, limits in one currency."""

    single_limit: Money = Money(3000, "EUR")
    cumulative_limit: Money = Money(10000, "EUR")
    max_payments: int = 5
    mode: ExemptionMode = "cumulative"

    def __post_init__(self) -> None:
        if self.cumulative_limit.currency != self.single_limit.currency:
            raise ValidationError("both limits must be in one currency", param="cumulative_limit")
        if self.single_limit.minor <= 0 or self.cumulative_limit.minor <= 0:
            raise ValidationError("limits must be positive", param="single_limit")
        if check_minor(self.max_payments) < 1:
            raise ValidationError("max_payments must be at least 1", param="max_payments")
        if self.mode not in ("cumulative", "count"):
            raise ValidationError(f"mode must be 'cumulative' or 'count', not {self.mode!r}", param="mode")

    @property
    def currency(self) -> str:
        """The currency of the limits, and of every amount assessed under them."""
        return self.single_limit.currency


@dataclass(frozen=True, slots=True)
class ExemptionState:
    """What a customer paid without a challenge since the last one passed."""

    payments_since_challenge: int
    amount_since_challenge: Money

    def __post_init__(self) -> None:
        if check_minor(self.payments_since_challenge) < 0 or self.amount_since_challenge.minor < 0:
            raise ValidationError("exemption counters cannot be negative", param="payments_since_challenge")

    @classmethod
    def start(cls, currency: str) -> ExemptionState:
        """No exempt payment yet: a new customer, or one who just passed a challenge."""
        return cls(0, Money.zero(currency))


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether a payment is exempt, and why (``reason`` is stable, for logs and the audit trail)."""

    exempt: bool
    reason: Reason


def assess(policy: ExemptionPolicy, state: ExemptionState, amount: Money) -> Decision:
    """Decide whether a payment of ``amount`` may skip the challenge, without recording it."""
    _check_amount(amount, policy.currency)
    _check_amount(state.amount_since_challenge, policy.currency, positive=False)
    if amount > policy.single_limit:
        return Decision(False, "above_single_limit")
    if policy.mode == "cumulative":
        if state.amount_since_challenge + amount > policy.cumulative_limit:
            return Decision(False, "cumulative_limit_reached")
    elif state.payments_since_challenge + 1 > policy.max_payments:
        return Decision(False, "payment_count_reached")
    return Decision(True, "exempt")


def record_exempt_payment(state: ExemptionState, amount: Money) -> ExemptionState:
    """The state after a payment of ``amount`` went through without a challenge."""
    _check_amount(amount, state.amount_since_challenge.currency)
    return ExemptionState(state.payments_since_challenge + 1, state.amount_since_challenge + amount)


def record_challenge_passed(state: ExemptionState) -> ExemptionState:
    """The state after the customer passed a challenge: the counters start again from zero."""
    return ExemptionState.start(state.amount_since_challenge.currency)


def decide(policy: ExemptionPolicy, state: ExemptionState, amount: Money) -> tuple[ExemptionState, Decision]:
    """Assess a payment and, if exempt, record it: the one step a store applies atomically per customer."""
    decision = assess(policy, state, amount)
    return (record_exempt_payment(state, amount) if decision.exempt else state), decision


@dataclass(frozen=True, slots=True)
class Challenge:
    """A request for a code, bound to one amount and one payee; ``used`` means passed, ``voided`` means spoilt."""

    id: str
    customer_id: str
    amount: Money
    payee: str
    created_at: datetime
    expires_at: datetime
    used: bool = False
    voided: bool = False


@dataclass(frozen=True, slots=True)
class AuthGuard:
    """A customer's consecutive wrong codes and the last accepted TOTP time step."""

    consecutive_failures: int = 0
    last_accepted_step: int | None = None

    @property
    def blocked(self) -> bool:
        """True once ``MAX_FAILURES`` consecutive codes were wrong."""
        return self.consecutive_failures >= MAX_FAILURES


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of a verification: persist ``challenge`` and ``guard`` in every case, then raise ``error``."""

    challenge: Challenge
    guard: AuthGuard
    error: KlelineError | None = None

    @property
    def ok(self) -> bool:
        """True when the customer passed the challenge."""
        return self.error is None


def issue_challenge(customer_id: str, amount: Money, payee: str, now: datetime, new_id: str) -> Challenge:
    """A challenge to pay ``amount`` to ``payee``, valid five minutes; ``new_id`` is its id, minted by the caller."""
    for param, value in (("customer_id", customer_id), ("payee", payee), ("new_id", new_id)):
        if not value:
            raise ValidationError(f"{param} must be non-empty", param=param)
    if amount.minor <= 0:
        raise ValidationError(f"a challenge is for a positive amount, got {amount}", param="amount")
    _check_aware(now)
    return Challenge(new_id, customer_id, amount, payee, now, now + CHALLENGE_LIFETIME)


def check_challenge(
    challenge: Challenge, amount: Money, payee: str, now: datetime, guard: AuthGuard
) -> Verification | None:
    """The refusal of ``challenge`` before any code or passkey is even read (blocked, voided, used, expired, or
    presented for another amount or payee, which voids it), or None when the proof may be checked."""
    _check_aware(now)
    if guard.blocked:
        return Verification(challenge, guard, AuthenticationBlocked("authentication is blocked for this customer"))
    if challenge.voided:
        return Verification(challenge, guard, ChallengeMismatch("the challenge was voided; ask for a new one"))
    if challenge.used:
        return Verification(challenge, guard, ChallengeUsed("the challenge was already passed"))
    if now >= challenge.expires_at:
        return Verification(challenge, guard, ChallengeExpired("the challenge expired; ask for a new one"))
    if amount != challenge.amount or payee != challenge.payee:
        # Dynamic linking (RTS art. 5): a changed amount or payee invalidates the authentication, not just this try.
        void = ChallengeMismatch("the amount or payee differs from the challenge's; the challenge is now void")
        return Verification(replace(challenge, voided=True), guard, void)
    return None


def failed_attempt(challenge: Challenge, guard: AuthGuard, error: KlelineError) -> Verification:
    """A wrong proof (a code, a passkey's response): the guard counts it, and blocks at ``MAX_FAILURES``."""
    failed = replace(guard, consecutive_failures=guard.consecutive_failures + 1)
    if failed.blocked:
        error = AuthenticationBlocked(f"{MAX_FAILURES} consecutive wrong attempts: authentication is now blocked")
    return Verification(challenge, failed, error)


def passed_with_passkey(challenge: Challenge, guard: AuthGuard) -> Verification:
    """The challenge passed with a passkey: used, and the failures forgotten (the TOTP step is kept)."""
    return Verification(replace(challenge, used=True), AuthGuard(0, guard.last_accepted_step))


def verify_challenge(
    challenge: Challenge, secret: str, code: str, amount: Money, payee: str, now: datetime, guard: AuthGuard
) -> Verification:
    """Check ``code`` for paying ``amount`` to ``payee`` under ``challenge``; the result says how it went.

    ``secret`` and ``guard`` must be those of ``challenge.customer_id``, read in the transaction that will store the
    returned challenge and guard.
    """
    refused = check_challenge(challenge, amount, payee, now, guard)
    if refused is not None:
        return refused
    step = _accepted_step(secret, code, now)
    if step is None or (guard.last_accepted_step is not None and step <= guard.last_accepted_step):
        return failed_attempt(challenge, guard, CodeInvalid(MAX_FAILURES - guard.consecutive_failures - 1))
    return Verification(replace(challenge, used=True), AuthGuard(0, step))


def code_matches(secret: str, code: str, now: datetime) -> int | None:
    """The time step ``code`` belongs to, within one step of ``now``, or None (to confirm an enrolment)."""
    _check_aware(now)
    return _accepted_step(secret, code, now)


def _accepted_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step ``code`` belongs to, within one step of ``now``, or None if it matches none."""
    totp = pyotp.TOTP(secret)
    # Equivalent to totp.verify(code, for_time=now, valid_window=1), but it also says which step matched,
    # which the guard needs to refuse the same code twice.
    for offset in _DRIFT_STEPS:
        if totp.verify(code, for_time=now + timedelta(seconds=offset * totp.interval)):
            return totp.timecode(now) + offset
    return None


def _check_amount(amount: Money, currency: str, *, positive: bool = True) -> None:
    if amount.currency != currency:
        raise UnsupportedCurrency(f"amount is in {amount.currency}, the policy in {currency}", param="currency")
    if positive and amount.minor <= 0:
        raise ValidationError(f"a payment amount must be positive, got {amount}", param="amount")


def _check_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValidationError("naive datetimes are refused: every Kleline time is UTC", param="now")
