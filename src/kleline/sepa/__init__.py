"""SEPA files as pure functions between Kleline's values and bytes: pain.001, pain.008 out, camt.053 in.

No I/O and no database here: callers hand values in and get bytes out (or the reverse). Everything that reads
bytes from outside parses them with the hardened parser of ``kleline.sepa.xml`` and checks them against the XSD of
the version they claim before reading a single value.
"""

from kleline.sepa.camt053 import read_statement, read_statements
from kleline.sepa.camt053_writer import write_statement
from kleline.sepa.errors import MalformedStatement, SepaError, SepaFileInvalid
from kleline.sepa.model import (
    BankStatement,
    CreditTransfer,
    DirectDebit,
    Direction,
    OwnAccount,
    StatementLine,
    object_id,
    sepa_reference,
)
from kleline.sepa.pain import validate_pain
from kleline.sepa.pain001 import read_credit_transfers, write_credit_transfers
from kleline.sepa.pain008 import read_direct_debits, write_direct_debits
from kleline.sepa.xml import DEFAULT_MAX_BYTES

__all__ = [
    "DEFAULT_MAX_BYTES",
    "BankStatement",
    "CreditTransfer",
    "DirectDebit",
    "Direction",
    "MalformedStatement",
    "OwnAccount",
    "SepaError",
    "SepaFileInvalid",
    "StatementLine",
    "object_id",
    "read_credit_transfers",
    "read_direct_debits",
    "read_statement",
    "read_statements",
    "sepa_reference",
    "validate_pain",
    "write_credit_transfers",
    "write_direct_debits",
    "write_statement",
]
