"""Settlement runs and payouts.

A run is one period's settlement (one per period and currency, ``UNIQUE``): it pays every active merchant whose
balance is above the minimum, one payout each (``UNIQUE (settlement_run_id, merchant_id)``: a rerun after a crash can
never pay a merchant twice in the same run), then stores the pain.001 file it sends, byte for byte, so that the file
served later is exactly the file built from the payouts. A payout keeps the creditor's name and bank details as they
were when it was sent (the merchant may change its IBAN later), and the statement lines that confirmed or returned
it (their bank references), so that reconciling the same line twice changes nothing. Times are epoch microseconds;
``booked_on`` is the bank's booking date, an ISO date.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "settlement_runs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("payout_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("total", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("file", sa.LargeBinary, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("completed_at", sa.BigInteger, nullable=True),
        sa.UniqueConstraint("period", "currency", name="uq_settlement_runs_period"),
        sa.CheckConstraint("status IN ('running', 'complete')", name="ck_settlement_runs_status"),
        sa.CheckConstraint("status = 'running' OR completed_at IS NOT NULL", name="ck_settlement_runs_completed_at"),
        sa.CheckConstraint("payout_count >= 0 AND total >= 0", name="ck_settlement_runs_totals"),
        # A run that paid someone carries its file once complete; a run that paid nobody has none.
        sa.CheckConstraint("status = 'running' OR (payout_count = 0) = (file IS NULL)", name="ck_settlement_runs_file"),
    )
    op.create_index("ix_settlement_runs_created", "settlement_runs", ["created_at", "id"])
    op.create_index("ix_settlement_runs_status", "settlement_runs", ["status", "updated_at"])
    op.create_table(
        "payouts",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("settlement_run_id", sa.String(40), sa.ForeignKey("settlement_runs.id"), nullable=False),
        sa.Column("merchant_id", sa.String(40), sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("creditor_name", sa.String(200), nullable=False),
        sa.Column("iban", sa.String(34), nullable=False),
        sa.Column("bic", sa.String(11), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("paid_at", sa.BigInteger, nullable=True),
        sa.Column("booked_on", sa.String(10), nullable=True),
        sa.Column("paid_line_ref", sa.String(100), nullable=True),
        sa.Column("failed_at", sa.BigInteger, nullable=True),
        sa.Column("failure_reason", sa.String(35), nullable=True),
        sa.Column("return_line_ref", sa.String(100), nullable=True),
        sa.UniqueConstraint("settlement_run_id", "merchant_id", name="uq_payouts_run_merchant"),
        sa.CheckConstraint("amount > 0", name="ck_payouts_amount_positive"),
        sa.CheckConstraint("status IN ('in_transit', 'paid', 'failed')", name="ck_payouts_status"),
        sa.CheckConstraint("status = 'in_transit' OR paid_at IS NOT NULL", name="ck_payouts_paid_at"),
        sa.CheckConstraint("status <> 'failed' OR failed_at IS NOT NULL", name="ck_payouts_failed_at"),
    )
    op.create_index("ix_payouts_merchant", "payouts", ["merchant_id", "created_at"])
    op.create_index("ix_payouts_created", "payouts", ["created_at", "id"])


def downgrade() -> None:
    op.drop_table("payouts")
    op.drop_table("settlement_runs")
