"""The simulated banks' refusals: what a real bank would bounce before booking anything.

KlelineError
 └── BankSimError
      ├── InvalidIban             an account number that is not a valid IBAN (checksum, length, country)
      ├── InvalidRequest          an admin call whose values do not fit (a malformed balance, an unknown currency)
      ├── AccountClosed           a file's own account (debtor of transfers, creditor of collections) is closed
      ├── InsufficientFunds       a credit transfer file asks for more than its debtor's balance
      ├── DuplicateFile           a file reuses a message id already received with other content
      ├── UnknownStatement        no statement with this sequence number was issued for the account
      ├── SimulatorClosed         a request that would change something came after ``close``
      └── JournalUnreadable       the state directory's journal is corrupt or belongs to another set-up
"""

from __future__ import annotations

from kleline.errors import Conflict, KlelineError, NotFound, ValidationError

__all__ = [
    "AccountClosed",
    "BankSimError",
    "DuplicateFile",
    "InsufficientFunds",
    "InvalidIban",
    "InvalidRequest",
    "JournalUnreadable",
    "SimulatorClosed",
    "UnknownStatement",
]


class BankSimError(KlelineError):
    """Root of the simulated banks' refusals."""

    code = "bank_sim_error"
    status = 400


class InvalidIban(BankSimError, ValidationError):
    """An account number is not a valid IBAN."""

    code = "invalid_iban"
    status = 400


class InvalidRequest(BankSimError, ValidationError):
    """An admin call carries a value that does not fit (an amount with too many decimals, an unknown currency)."""

    code = "invalid_request"
    status = 400


class AccountClosed(BankSimError, Conflict):
    """A file names a closed account as the one that sends it (a transfer's debtor, a collection's creditor)."""

    code = "account_closed"
    status = 409


class InsufficientFunds(BankSimError, Conflict):
    """A credit transfer file asks for more than its debtor account holds: the bank refuses the whole file."""

    code = "insufficient_funds"
    status = 422


class DuplicateFile(BankSimError, Conflict):
    """A file carries the message id of one already received from the same account, with other content."""

    code = "duplicate_file"
    status = 409


class UnknownStatement(BankSimError, NotFound):
    """No statement with this sequence number was issued for this account and currency."""

    code = "unknown_statement"
    status = 404


class SimulatorClosed(BankSimError):
    """A request that would change something arrived after the simulator was closed (it is shutting down)."""

    code = "simulator_closed"
    status = 503


class JournalUnreadable(BankSimError):
    """The journal in the state directory cannot be replayed: corrupt in its middle, or written by another set-up."""

    code = "journal_unreadable"
    status = 500
