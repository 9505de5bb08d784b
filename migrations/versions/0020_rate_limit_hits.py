"""Rate limits per client (``kleline.ratelimit``): how many attempts each client made in the current window.

``rate_limit_hits``: one row per (scope, client, window_start), its ``hits`` counted by one conditional UPSERT per
attempt, so that every server process shares the count and concurrent attempts cannot outrun it; ``expires_at``
(epoch microseconds, the window's end) is what pruning looks rows up by.

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_hits",
        sa.Column("scope", sa.String(32), primary_key=True),
        sa.Column("client", sa.String(64), primary_key=True),
        sa.Column("window_start", sa.BigInteger, primary_key=True),
        sa.Column("hits", sa.Integer, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.CheckConstraint("hits >= 1", name="ck_rate_limit_hits_positive"),
    )
    op.create_index("ix_rate_limit_hits_expires_at", "rate_limit_hits", ["expires_at"])


def downgrade() -> None:
    op.drop_table("rate_limit_hits")
