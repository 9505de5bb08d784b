"""Card network: reversals waiting to be sent, and card refunds waiting for the issuer's answer.

``bank_reversals``: one row per RRN whose authorisation got no answer and whose immediate reversal could not be
delivered either; the worker resends it until the issuer acknowledges it (``done_at``, ``outcome`` = the response
code that closed it). ``card_refunds``: a card refund between its reservation (the merchant's share held in the
ledger) and the issuer's answer; at most one per payment, so that each refund's commission split is computed on
what the previous one left. The row goes away when the refund is recorded in ``refunds`` or refused. Times are
epoch microseconds, as everywhere else.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bank_reversals",
        sa.Column("rrn", sa.String(12), primary_key=True),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("done_at", sa.BigInteger, nullable=True),
        sa.Column("outcome", sa.String(2), nullable=True),
        sa.Column("last_error", sa.String(60), nullable=True),
        sa.CheckConstraint("attempts >= 0", name="ck_bank_reversals_attempts"),
        sa.CheckConstraint("(done_at IS NULL) = (outcome IS NULL)", name="ck_bank_reversals_closed"),
    )
    op.create_index("ix_bank_reversals_due", "bank_reversals", ["done_at", "next_attempt_at"])
    op.create_table(
        "card_refunds",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("payment_id", sa.String(40), sa.ForeignKey("payments.id"), nullable=False, unique=True),
        sa.Column("merchant_id", sa.String(40), sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("fee_returned", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger, nullable=False),
        sa.Column("last_error", sa.String(60), nullable=True),
        sa.CheckConstraint(
            "amount > 0 AND fee_returned >= 0 AND fee_returned <= amount", name="ck_card_refunds_amounts"
        ),
    )
    op.create_index("ix_card_refunds_due", "card_refunds", ["next_attempt_at"])


def downgrade() -> None:
    op.drop_table("card_refunds")
    op.drop_table("bank_reversals")
