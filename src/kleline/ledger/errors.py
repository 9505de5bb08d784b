"""Ledger errors: each says when it happens, and none leaves anything written.

KlelineError
 └── LedgerError
      ├── InvalidEntry          an entry or hold breaks a rule of double entry (unbalanced, zero, too few legs)
      ├── UnknownAccount        a posting names an account that was never opened
      ├── CurrencyMismatch      a posting's currency is not its account's
      ├── AccountConflict       an account code is reopened with other attributes
      ├── EntryConflict         an entry or hold id is reused with other content
      ├── InsufficientFunds     a floored account would go below its floor
      ├── HoldNotPending        a hold is committed or voided after it was closed
      └── HoldCommitTooLarge    a commit takes more from an account than the hold reserved
"""

from __future__ import annotations

from kleline.errors import Conflict, KlelineError, NotFound, ValidationError

__all__ = [
    "AccountConflict",
    "CurrencyMismatch",
    "EntryConflict",
    "HoldCommitTooLarge",
    "HoldNotPending",
    "InsufficientFunds",
    "InvalidEntry",
    "LedgerError",
    "UnknownAccount",
    "UnknownHold",
]


class LedgerError(KlelineError):
    """Root of the ledger's refusals."""

    code = "ledger_error"


class InvalidEntry(LedgerError, ValidationError):
    """An entry or hold breaks a rule of double entry: unbalanced, a zero leg, fewer than two legs, bad id."""

    code = "validation_error"


class UnknownAccount(LedgerError, NotFound):
    """A posting names an account that was never opened."""

    code = "unknown_account"


class UnknownHold(LedgerError, NotFound):
    """A commit or void names a hold that does not exist."""

    code = "unknown_hold"


class CurrencyMismatch(LedgerError, ValidationError):
    """A posting's currency differs from its account's."""

    code = "currency_mismatch"


class AccountConflict(LedgerError, Conflict):
    """An account code is opened again with another currency, side or floor."""

    code = "account_conflict"


class EntryConflict(LedgerError, Conflict):
    """An entry or hold id was already used for other content (idempotency key reuse)."""

    code = "idempotency_key_reused"


class InsufficientFunds(LedgerError):
    """A floored account would go below its floor: the whole entry is refused."""

    code = "insufficient_funds"
    status = 402

    def __init__(self, detail: str, *, account: str | None = None) -> None:
        super().__init__(detail)
        self.account = account


class HoldNotPending(LedgerError, Conflict):
    """A hold was already committed, voided or expired."""

    code = "hold_not_pending"


class HoldCommitTooLarge(LedgerError, ValidationError):
    """A commit takes more from an account than the hold reserved on it."""

    code = "hold_commit_too_large"
