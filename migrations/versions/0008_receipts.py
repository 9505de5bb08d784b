"""Signed receipts for captured payments and refunds.

One receipt per payment or refund (``object_id`` is the key, which makes issuing idempotent). The signed document is
kept as the exact canonical JSON that was signed, beside the signature and the id of the key that made it, so that
a receipt served years later is byte for byte the one signed; the private key is never stored. The party columns
repeat the document's ids for look-ups to come; they have no index yet, since every capture and refund writes a row
and nothing reads receipts but by ``object_id``: the query that needs one adds it. Times are epoch microseconds, as
in the ledger.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "receipts",
        sa.Column("object_id", sa.String(80), primary_key=True),
        sa.Column("receipt_id", sa.String(80), nullable=False, unique=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("payment_id", sa.String(80), nullable=False),
        sa.Column("merchant_id", sa.String(80), nullable=False),
        sa.Column("customer_id", sa.String(80), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("signature", sa.String(100), nullable=False),
        sa.Column("issued_at", sa.BigInteger, nullable=False),
        sa.CheckConstraint("kind IN ('payment', 'refund')", name="ck_receipts_kind"),
    )


def downgrade() -> None:
    op.drop_table("receipts")
