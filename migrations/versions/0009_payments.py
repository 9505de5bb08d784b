"""Payments and refunds.

A payment row carries the amounts the API shows (authorised, captured, refunded) and the commission rate frozen
when the payment was created, so that its fee never changes when the merchant's rate does. A refund is written in
the same transaction as its ledger entry and the payment's new refunded amount, under the payment's row lock, so
the CHECK below holds at every commit. Times are epoch microseconds, as in the ledger.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

STATUSES = (
    "'requires_confirmation', 'requires_action', 'processing', 'authorized', 'succeeded', 'canceled', 'failed', "
    "'expired'"
)


def upgrade() -> None:
    op.create_table(
        "payments",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("merchant_id", sa.String(40), sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("customer_id", sa.String(40), sa.ForeignKey("customers.id"), nullable=True),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("method", sa.String(8), nullable=True),
        sa.Column("card_id", sa.String(40), nullable=True),
        sa.Column("capture_method", sa.String(10), nullable=False),
        sa.Column("fee_bps", sa.Integer, nullable=False),
        sa.Column("amount_authorized", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("amount_captured", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("amount_refunded", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("description", sa.String(500), nullable=True),
        sa.Column("reference", sa.String(200), nullable=True),
        sa.Column("return_url", sa.String(2000), nullable=True),
        sa.Column("failure_code", sa.String(60), nullable=True),
        sa.Column("challenge_id", sa.String(40), nullable=True),
        sa.Column("authorization_id", sa.String(60), nullable=True),
        sa.Column("card_network", sa.String(20), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("authorized_at", sa.BigInteger, nullable=True),
        sa.Column("expires_at", sa.BigInteger, nullable=True),
        sa.CheckConstraint(f"status IN ({STATUSES})", name="ck_payments_status"),
        sa.CheckConstraint("amount > 0", name="ck_payments_amount_positive"),
        sa.CheckConstraint("fee_bps BETWEEN 0 AND 10000", name="ck_payments_fee_bps"),
        sa.CheckConstraint("amount_authorized BETWEEN 0 AND amount", name="ck_payments_authorized"),
        sa.CheckConstraint("amount_captured BETWEEN 0 AND amount_authorized", name="ck_payments_captured"),
        sa.CheckConstraint("amount_refunded BETWEEN 0 AND amount_captured", name="ck_payments_refunded"),
    )
    op.create_index("ix_payments_merchant", "payments", ["merchant_id", "created_at"])
    op.create_index("ix_payments_customer", "payments", ["customer_id"])
    op.create_index("ix_payments_status_expiry", "payments", ["status", "expires_at"])
    op.create_table(
        "refunds",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("payment_id", sa.String(40), sa.ForeignKey("payments.id"), nullable=False),
        sa.Column("merchant_id", sa.String(40), sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("fee_returned", sa.BigInteger, nullable=False),
        sa.Column("failure_code", sa.String(60), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.CheckConstraint("status IN ('succeeded', 'failed')", name="ck_refunds_status"),
        sa.CheckConstraint("amount > 0 AND fee_returned >= 0 AND fee_returned <= amount", name="ck_refunds_amounts"),
    )
    op.create_index("ix_refunds_payment", "refunds", ["payment_id"])
    op.create_index("ix_refunds_merchant", "refunds", ["merchant_id", "created_at"])


def downgrade() -> None:
    op.drop_table("refunds")
    op.drop_table("payments")
