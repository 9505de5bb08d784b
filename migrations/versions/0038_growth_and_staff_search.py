"""Kleline's growth by Paris day, and what the staff's searches and the growth report find through indexes.

- ``growth_days``: one row per closed day of Paris (``day``: days since 1970-01-01 of its local date; ``month``: its
  ``YYYYMM``), with how many customers opened a wallet in it (``customers``), how many merchants were first
  approved in it (``merchants``), and ``last_posting``, the largest id of the journal's postings dated in it (NULL
  for a day without any), which bounds the scan of the days after it.
- ``growth_day_sales``: the same day's sales per currency, as the statements classify them: ``payments`` (captures
  booked), ``gross`` (what they captured), ``refund_count`` and ``refunds`` (what refunds gave back),
  ``commission_charged`` and ``commission_returned``, all in minor units.
  A day is written once it ended more than ``kleline.reports.service.CLOSING_GRACE`` ago: rows of customers,
  merchants and postings dated in it have all committed by then, so it never changes. Both tables are a cache of
  the books and of the customers' and merchants' tables: emptying them loses nothing (the growth report fills them
  again, lazily), as ``merchant_day_totals`` (0030) is for one merchant.
- ``ix_customers_created``, ``ix_merchants_approved``: the open days' new customers and merchants, and the first
  day of the books, found without reading either table through.
- ``ix_customers_name_prefix`` (``lower(name)``), and on PostgreSQL ``ix_customers_email_prefix``: the staff's
  search of customers by the beginning of a name (in either case) or of an email address (stored in lower case).
  As for payments' references (0029), PostgreSQL indexes them under the C collation (``lower(name COLLATE "C")``):
  lower-cased in A-Z only and ordered byte by byte, as SQLite's ``lower`` and binary collation do (there the email's
  unique index serves), so that a prefix is one range of the index whatever the database's collation, and both
  backends find the same customers.

Revision ID: 0038
Revises: 0037
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "growth_days",
        sa.Column("day", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("month", sa.Integer, nullable=False),
        sa.Column("customers", sa.Integer, nullable=False),
        sa.Column("merchants", sa.Integer, nullable=False),
        sa.Column("last_posting", sa.BigInteger, nullable=True),
        sa.Column("computed_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "growth_day_sales",
        sa.Column("day", sa.Integer, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("month", sa.Integer, nullable=False),
        sa.Column("payments", sa.Integer, nullable=False),
        sa.Column("gross", sa.BigInteger, nullable=False),
        sa.Column("refund_count", sa.Integer, nullable=False),
        sa.Column("refunds", sa.BigInteger, nullable=False),
        sa.Column("commission_charged", sa.BigInteger, nullable=False),
        sa.Column("commission_returned", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("day", "currency"),
    )
    op.create_index("ix_customers_created", "customers", ["created_at"])
    op.create_index("ix_merchants_approved", "merchants", ["approved_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute('CREATE INDEX ix_customers_email_prefix ON customers ((email COLLATE "C"))')
        op.execute('CREATE INDEX ix_customers_name_prefix ON customers (lower(name COLLATE "C"))')
    else:
        op.execute("CREATE INDEX ix_customers_name_prefix ON customers (lower(name))")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_customers_email_prefix", "customers")
    op.drop_index("ix_customers_name_prefix", "customers")
    op.drop_index("ix_merchants_approved", "merchants")
    op.drop_index("ix_customers_created", "customers")
    op.drop_table("growth_day_sales")
    op.drop_table("growth_days")
