"""Reconciliation: imported bank statements, their lines and what each matched, and the suspense queue.

A statement is one row per account and bank statement id, with a hash of its content: the same statement again is
recognised, another content under the same id is refused. Each line is one row (statement, position) written in
the same transaction as the entry it posted, so an interrupted import resumes where it stopped. A booking reported
twice (the same entry reference of the same account, in overlapping statements) is recorded as a duplicate of the
first: the partial unique index lets exactly one original exist per (account, entry reference). A line the books
cannot explain opens a suspense item, which an operator later resolves. Times are epoch microseconds; booking
dates ISO 8601 strings (they sort as dates).

Card settlements are found by the authorisation's retrieval reference (the end-to-end id the card network puts on
its credit), hence the two indexes on ``authorization_id``.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bank_statements",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("account_iban", sa.String(34), nullable=False),
        sa.Column("statement_id", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("opening_balance", sa.BigInteger, nullable=True),
        sa.Column("closing_balance", sa.BigInteger, nullable=True),
        sa.Column("line_count", sa.Integer, nullable=False),
        sa.Column("imported_at", sa.BigInteger, nullable=False),
        sa.Column("completed_at", sa.BigInteger, nullable=True),
        sa.UniqueConstraint("account_iban", "statement_id", name="uq_bank_statements_account_statement"),
    )
    op.create_index("ix_bank_statements_imported", "bank_statements", ["imported_at"])
    op.create_table(
        "bank_statement_lines",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("statement_id", sa.String(40), sa.ForeignKey("bank_statements.id"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("account_iban", sa.String(34), nullable=False),
        sa.Column("entry_ref", sa.String(64), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("direction", sa.String(6), nullable=False),
        sa.Column("booking_date", sa.String(10), nullable=False),
        sa.Column("end_to_end_id", sa.String(64), nullable=True),
        sa.Column("return_reason", sa.String(35), nullable=True),
        sa.Column("counterparty_name", sa.Text, nullable=True),
        sa.Column("counterparty_iban", sa.String(34), nullable=True),
        sa.Column("remittance", sa.Text, nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("target", sa.String(20), nullable=True),
        sa.Column("action", sa.String(8), nullable=True),
        sa.Column("object_id", sa.String(60), nullable=True),
        sa.Column("entry_id", sa.String(80), nullable=True),
        sa.Column("reason", sa.String(30), nullable=True),
        sa.Column("duplicate_of", sa.String(40), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("statement_id", "position", name="uq_bank_statement_lines_position"),
        sa.CheckConstraint("amount >= 0", name="ck_bank_statement_lines_amount"),
        sa.CheckConstraint("direction IN ('credit', 'debit')", name="ck_bank_statement_lines_direction"),
        sa.CheckConstraint("status IN ('matched', 'suspense', 'duplicate')", name="ck_bank_statement_lines_status"),
    )
    op.create_index(
        "ux_bank_statement_lines_booking",
        "bank_statement_lines",
        ["account_iban", "entry_ref"],
        unique=True,
        sqlite_where=sa.text("duplicate_of IS NULL"),
        postgresql_where=sa.text("duplicate_of IS NULL"),
    )
    op.create_index("ix_bank_statement_lines_object", "bank_statement_lines", ["object_id", "action"])
    op.create_table(
        "suspense_items",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("line_id", sa.String(40), sa.ForeignKey("bank_statement_lines.id"), nullable=False, unique=True),
        sa.Column("statement_id", sa.String(40), sa.ForeignKey("bank_statements.id"), nullable=False),
        sa.Column("reason", sa.String(30), nullable=False),
        sa.Column("detail", sa.String(500), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("entry_id", sa.String(80), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("resolution_kind", sa.String(20), nullable=True),
        sa.Column("resolution_target", sa.String(120), nullable=True),
        sa.Column("resolution_action", sa.String(8), nullable=True),
        sa.Column("resolution_entry_id", sa.String(80), nullable=True),
        sa.Column("note", sa.String(500), nullable=True),
        sa.Column("resolved_at", sa.BigInteger, nullable=True),
        sa.Column("resolved_by", sa.String(40), nullable=True),
        sa.CheckConstraint("status IN ('open', 'resolved')", name="ck_suspense_items_status"),
        sa.CheckConstraint(
            "(status = 'open') = (resolved_at IS NULL) AND (status = 'open') = (resolution_kind IS NULL)",
            name="ck_suspense_items_resolution",
        ),
    )
    op.create_index("ix_suspense_items_status", "suspense_items", ["status", "created_at"])
    op.create_index("ix_suspense_items_target", "suspense_items", ["resolution_target", "resolution_action"])
    op.create_index("ix_payments_authorization", "payments", ["authorization_id"])
    op.create_index("ix_top_ups_authorization", "top_ups", ["authorization_id"])


def downgrade() -> None:
    op.drop_index("ix_top_ups_authorization", table_name="top_ups")
    op.drop_index("ix_payments_authorization", table_name="payments")
    op.drop_table("suspense_items")
    op.drop_table("bank_statement_lines")
    op.drop_table("bank_statements")
