"""Merchants, their API keys, malls and mall membership.

A merchant's status and commission rate are checked by the database too, so that no code path can store a rate
outside 300-400 basis points or an unknown status. Secret keys are stored as SHA-256 digests only (256 random bits
each: a slow hash would protect nothing more and slow every request). Times are epoch microseconds.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "merchants",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("website", sa.String(2048), nullable=True),
        sa.Column("category", sa.String(40), nullable=True),
        sa.Column("siret", sa.String(14), nullable=True),
        sa.Column("iban", sa.String(34), nullable=False),
        sa.Column("bic", sa.String(11), nullable=False),
        sa.Column("fee_bps", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("status_changed_at", sa.BigInteger, nullable=False),
        sa.CheckConstraint("fee_bps BETWEEN 300 AND 400", name="ck_merchants_fee_bps"),
        sa.CheckConstraint("status IN ('pending', 'active', 'suspended')", name="ck_merchants_status"),
    )
    # Lists go newest first, and pages continue after (created_at, id).
    op.create_index("ix_merchants_created", "merchants", ["created_at", "id"])
    op.create_index("ix_merchants_status_created", "merchants", ["status", "created_at", "id"])
    op.create_table(
        "merchant_keys",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("merchant_id", sa.String(40), sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("key_hash", sa.LargeBinary(32), nullable=False, unique=True),
        sa.Column("last4", sa.String(4), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("revoked_at", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_merchant_keys_merchant", "merchant_keys", ["merchant_id", "created_at"])
    op.create_table(
        "malls",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("slug", sa.String(60), nullable=False, unique=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "mall_merchants",
        sa.Column("mall_id", sa.String(40), sa.ForeignKey("malls.id"), primary_key=True),
        sa.Column("merchant_id", sa.String(40), sa.ForeignKey("merchants.id"), primary_key=True),
        sa.Column("added_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_mall_merchants_merchant", "mall_merchants", ["merchant_id"])


def downgrade() -> None:
    for table in ("mall_merchants", "malls", "merchant_keys", "merchants"):
        op.drop_table(table)
