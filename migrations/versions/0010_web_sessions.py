"""Hosted checkout page sessions.

A session is what the browser's cookie names: a random token, stored here only as its SHA-256 digest (as customer
tokens are), the customer once signed in, the synchroniser token its forms carry against cross-site request
forgery, and its expiry. Times are epoch microseconds, as everywhere else.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.LargeBinary(32), primary_key=True),
        sa.Column("customer_id", sa.String(40), sa.ForeignKey("customers.id"), nullable=True),
        sa.Column("csrf_secret", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_web_sessions_expires_at", "web_sessions", ["expires_at"])
    op.create_index("ix_web_sessions_customer", "web_sessions", ["customer_id"])


def downgrade() -> None:
    op.drop_table("web_sessions")
