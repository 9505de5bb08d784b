"""Purse top-ups by SEPA direct debit: customers' bank accounts and mandates, collections, collection runs.

A direct-debit top-up is a ``top_ups`` row like a card top-up (so that the purse's limits count both), whose source
is a bank account instead of a card: exactly one of ``card_id`` and ``bank_account_id`` is set. Its collection
(``dd_...``, also the end-to-end id the bank returns on statement lines) moves ``pending`` → ``submitted`` (in a
run's pain.008) → ``collected`` or ``returned``. A collection run is at most once ``open`` at a time (the unique
``open_guard``), so that two runs started together cannot put one collection in two files. Times are epoch
microseconds, as in the ledger; a collection date is an ISO date (``YYYY-MM-DD``).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_LIVE = sa.text("deleted_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "bank_accounts",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("customer_id", sa.String(40), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("iban", sa.String(34), nullable=False),
        sa.Column("bic", sa.String(11), nullable=True),
        sa.Column("holder_name", sa.String(70), nullable=False),
        sa.Column("mandate_id", sa.String(35), nullable=False, unique=True),
        sa.Column("mandate_signed_at", sa.BigInteger, nullable=False),
        # The run that carried the mandate's first collection: its collections before are FRST, after RCUR.
        sa.Column("first_run_id", sa.String(40), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("deleted_at", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_bank_accounts_customer", "bank_accounts", ["customer_id", "created_at"])
    op.create_index(
        "uq_bank_accounts_customer_iban",
        "bank_accounts",
        ["customer_id", "iban"],
        unique=True,
        sqlite_where=_LIVE,
        postgresql_where=_LIVE,
    )
    op.create_table(
        "collection_runs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("open_guard", sa.SmallInteger, nullable=True, unique=True),
        sa.Column("collection_date", sa.String(10), nullable=False),
        sa.Column("collection_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("total", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("file", sa.LargeBinary, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("completed_at", sa.BigInteger, nullable=True),
        sa.CheckConstraint(
            "(status = 'open' AND open_guard = 1 AND completed_at IS NULL) OR "
            "(status = 'complete' AND open_guard IS NULL AND completed_at IS NOT NULL)",
            name="ck_collection_runs_status",
        ),
        sa.CheckConstraint("collection_count >= 0 AND total >= 0", name="ck_collection_runs_totals"),
    )
    op.create_index("ix_collection_runs_created", "collection_runs", ["created_at"])
    with op.batch_alter_table("top_ups") as batch:
        batch.alter_column("card_id", existing_type=sa.String(40), nullable=True)
        batch.add_column(sa.Column("bank_account_id", sa.String(40), nullable=True))
        batch.create_foreign_key("fk_top_ups_bank_account", "bank_accounts", ["bank_account_id"], ["id"])
        batch.create_check_constraint("ck_top_ups_source", "(card_id IS NULL) <> (bank_account_id IS NULL)")
    op.create_table(
        "collections",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("top_up_id", sa.String(40), sa.ForeignKey("top_ups.id"), nullable=False, unique=True),
        sa.Column("customer_id", sa.String(40), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("bank_account_id", sa.String(40), sa.ForeignKey("bank_accounts.id"), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("run_id", sa.String(40), sa.ForeignKey("collection_runs.id"), nullable=True),
        sa.Column("sequence", sa.String(4), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("submitted_at", sa.BigInteger, nullable=True),
        sa.Column("collected_at", sa.BigInteger, nullable=True),
        sa.Column("collected_line_ref", sa.String(200), nullable=True),
        sa.Column("returned_at", sa.BigInteger, nullable=True),
        sa.Column("returned_line_ref", sa.String(200), nullable=True),
        sa.Column("return_reason", sa.String(35), nullable=True),
        # What the purse could not cover when the collection came back: the customer's debt (a receivable).
        sa.Column("shortfall", sa.BigInteger, nullable=False, server_default="0"),
        sa.CheckConstraint("amount > 0", name="ck_collections_amount"),
        sa.CheckConstraint("status IN ('pending', 'submitted', 'collected', 'returned')", name="ck_collections_status"),
        # Sent in exactly one run, with its sequence type, from the moment it leaves ``pending``.
        sa.CheckConstraint(
            "(status = 'pending' AND run_id IS NULL AND sequence IS NULL) OR "
            "(status <> 'pending' AND run_id IS NOT NULL AND sequence IN ('FRST', 'RCUR'))",
            name="ck_collections_run",
        ),
        sa.CheckConstraint("shortfall >= 0 AND shortfall <= amount", name="ck_collections_shortfall"),
        sa.CheckConstraint("status = 'returned' OR shortfall = 0", name="ck_collections_shortfall_returned"),
    )
    op.create_index("ix_collections_status_created", "collections", ["status", "created_at"])
    op.create_index("ix_collections_run", "collections", ["run_id", "id"])
    op.create_index("ix_collections_customer", "collections", ["customer_id", "created_at"])
    op.create_index("ix_collections_bank_account", "collections", ["bank_account_id", "status"])


def downgrade() -> None:
    op.drop_table("collections")
    # Fails while direct-debit top-ups exist (their card_id is empty): the books would lose their source.
    with op.batch_alter_table("top_ups") as batch:
        batch.drop_constraint("ck_top_ups_source", type_="check")
        batch.drop_constraint("fk_top_ups_bank_account", type_="foreignkey")
        batch.drop_column("bank_account_id")
        batch.alter_column("card_id", existing_type=sa.String(40), nullable=False)
    op.drop_table("collection_runs")
    op.drop_table("bank_accounts")
