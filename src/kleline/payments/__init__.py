"""Payments and refunds: the state machine, the commission split, captures and refunds in the ledger."""
