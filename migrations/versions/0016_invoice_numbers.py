"""Commission invoices and their numbers: one gapless, chronological sequence per year (CGI art. 242 nonies A).

``invoice_counters`` holds, per year of issue, the last number given and when it was given. An invoice is issued
in one transaction that locks its year's counter row, takes the next number and inserts the ``invoices`` row, so a
rolled-back issue gives its number back and two issues never share or skip one; a SEQUENCE would burn numbers on
rollback, which the rule forbids. ``last_issued_at`` keeps issue times from running backwards within a year even
if two servers' clocks disagree: numbers and dates read in the same order.

An invoice is issued once per (merchant, month) and never changes: the row keeps the rendered PDF and its SHA-256,
so asking again returns the same bytes even after the renderer or the issuer's details change. Times are epoch
microseconds; ``month`` is ``YYYY-MM``.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "invoice_counters",
        sa.Column("year", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("last_number", sa.Integer, nullable=False),
        sa.Column("last_issued_at", sa.BigInteger, nullable=False),
        sa.CheckConstraint("last_number >= 0", name="ck_invoice_counters_last_number"),
    )
    op.create_table(
        "invoices",
        sa.Column("number", sa.String(20), primary_key=True),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("merchant_id", sa.String(40), sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("issued_at", sa.BigInteger, nullable=False),
        sa.Column("commission", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("document", sa.LargeBinary, nullable=False),
        sa.Column("document_sha256", sa.String(64), nullable=False),
        sa.UniqueConstraint("year", "seq", name="uq_invoices_year_seq"),
        sa.UniqueConstraint("merchant_id", "month", name="uq_invoices_merchant_month"),
        sa.CheckConstraint("seq >= 1", name="ck_invoices_seq"),
    )


def downgrade() -> None:
    op.drop_table("invoices")
    op.drop_table("invoice_counters")
