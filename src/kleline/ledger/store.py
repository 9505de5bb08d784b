"""The ledger's SQL: every statement the ledger runs, over a raw transaction (``kleline.db.engine.RawTx``).

One name for the rest of the ledger to call (``store.post_entry``, ``store.find_hold``, ...), gathered from the
modules that hold the statements: ``account_store`` (accounts), ``balance_store`` (balance slots),
``entry_store`` (entries, postings and their hash chains) and ``hold_store`` (holds). The audit's whole-journal
scans stay in ``audit_store``.

Lock order, the same in every transaction, is what keeps writers free of deadlocks:
hold row → chain head → entry id → balance slots in (account id, slot) order.
"""

from __future__ import annotations

from kleline.ledger.account_store import (
    AccountRow,
    find_account,
    find_accounts,
    insert_account,
    insert_accounts,
    list_accounts,
)
from kleline.ledger.balance_store import (
    SLOTS,
    UPDATE_BALANCE,
    SlotDelta,
    apply_deltas,
    apply_many_deltas,
    balance_read,
    merge_deltas,
    move_balances,
    posted_by_code_read,
    read_balance,
    read_balances,
)
from kleline.ledger.entry_store import (
    ADVANCE_CHAIN,
    INSERT_ENTRY,
    INSERT_LINKED_ENTRY,
    INSERT_POSTING,
    EntryRow,
    EntryValues,
    PostingRow,
    append_entries,
    append_entry,
    dump_metadata,
    ensure_chains,
    history_statement,
    insert_postings,
    load_entries,
    lock_chain,
    post_entry,
    posting_rows,
    running_lines,
)
from kleline.ledger.hold_store import close_hold, dump_postings, expired_holds, find_hold, insert_hold

__all__ = [
    "ADVANCE_CHAIN",
    "INSERT_ENTRY",
    "INSERT_LINKED_ENTRY",
    "INSERT_POSTING",
    "SLOTS",
    "UPDATE_BALANCE",
    "AccountRow",
    "EntryRow",
    "EntryValues",
    "PostingRow",
    "SlotDelta",
    "append_entries",
    "append_entry",
    "apply_deltas",
    "apply_many_deltas",
    "close_hold",
    "dump_metadata",
    "dump_postings",
    "ensure_chains",
    "expired_holds",
    "find_account",
    "find_accounts",
    "find_hold",
    "history_statement",
    "insert_postings",
    "insert_account",
    "insert_accounts",
    "insert_hold",
    "list_accounts",
    "load_entries",
    "lock_chain",
    "merge_deltas",
    "move_balances",
    "post_entry",
    "posting_rows",
    "posted_by_code_read",
    "balance_read",
    "read_balance",
    "read_balances",
    "running_lines",
]
