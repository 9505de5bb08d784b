"""Merchants' closed days: the dashboard's overview reads a year of sales from one row per day rather than from
every posting of the year.

- ``merchant_day_totals``: one row per merchant and closed UTC day (``day``: days since 1970-01-01; ``month``: its
  ``YYYYMM``), with the day's sales as the statements classify the merchant's balance postings: ``gross`` (captures),
  ``refunds`` (what customers got back, positive), ``commission_charged`` and ``commission_returned``, all in minor
  units of ``currency``; ``last_posting`` is the largest id of the day's postings on the merchant's balance account
  (NULL for a day without any), which bounds the scan of the days after it. A day is written once it ended more
  than ``kleline.reports.service.CLOSING_GRACE`` ago: postings are append-only and every one dated in it has
  committed by then, so the row never changes. It is a cache of the books: emptying the table loses nothing (the
  overview fills it again, lazily).
- ``ix_refunds_zero_net``: the refunds paid entirely out of Kleline's commission (``fee_returned = amount``, a cent
  refunded where rounding returns a cent of fee) never touch the merchant's balance, yet the statements count them;
  this partial index holds only those, so that finding a merchant's costs nothing however many refunds it has.

Revision ID: 0030
Revises: 0028
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "merchant_day_totals",
        sa.Column("merchant_id", sa.String(40), nullable=False),
        sa.Column("day", sa.Integer, nullable=False),
        sa.Column("month", sa.Integer, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("gross", sa.BigInteger, nullable=False),
        sa.Column("refunds", sa.BigInteger, nullable=False),
        sa.Column("commission_charged", sa.BigInteger, nullable=False),
        sa.Column("commission_returned", sa.BigInteger, nullable=False),
        sa.Column("last_posting", sa.BigInteger, nullable=True),
        sa.Column("computed_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("merchant_id", "day"),
    )
    op.create_index(
        "ix_refunds_zero_net",
        "refunds",
        ["merchant_id"],
        sqlite_where=sa.text("fee_returned = amount"),
        postgresql_where=sa.text("fee_returned = amount"),
    )


def downgrade() -> None:
    op.drop_index("ix_refunds_zero_net", "refunds")
    op.drop_table("merchant_day_totals")
