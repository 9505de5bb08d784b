"""The simulated banking network of ``kleline bank serve``: card issuers over ISO 8583, banks over SEPA files.

A development and test tool, held to the standards of the rest: books that balance, deterministic statements, and no
answered request forgotten across a crash. Public surface:

- ``BankSimulator``: the network in one object (card traffic, files, statements, set-up calls), journaled when given
  a state directory;
- ``create_app``: its HTTP interface (files, statements, accounts, cardholders);
- ``BankServer`` / ``run_until_signalled``: both listeners in one process, as ``kleline bank serve`` runs them.

    simulator = BankSimulator(acquirer_iban="FR7630003000000005000000167", state_dir=Path("bank-state"))
    server = BankServer(simulator, host="127.0.0.1", port=8583)
    run_until_signalled(server)
"""

from kleline.banksim.books import OPENING_UNITS
from kleline.banksim.clearing import FileReceipt, Return
from kleline.banksim.errors import (
    AccountClosed,
    BankSimError,
    DuplicateFile,
    InsufficientFunds,
    InvalidIban,
    InvalidRequest,
    JournalUnreadable,
    SimulatorClosed,
    UnknownStatement,
)
from kleline.banksim.http import create_app
from kleline.banksim.serve import Addresses, BankServer, run_until_signalled
from kleline.banksim.simulator import AccountView, BankSimulator
from kleline.banksim.statements import IssuedStatement

__all__ = [
    "OPENING_UNITS",
    "AccountClosed",
    "AccountView",
    "Addresses",
    "BankServer",
    "BankSimError",
    "BankSimulator",
    "DuplicateFile",
    "FileReceipt",
    "InsufficientFunds",
    "InvalidIban",
    "InvalidRequest",
    "IssuedStatement",
    "JournalUnreadable",
    "Return",
    "SimulatorClosed",
    "UnknownStatement",
    "create_app",
    "run_until_signalled",
]
