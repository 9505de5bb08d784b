"""Top-up recovery: an index for the sweep that carries card top-ups left ``pending`` to their end.

The worker's ``wallet.resume_pending_top_ups`` sweep asks, every minute, for the card top-ups still ``pending``
past a grace period, the oldest first. Without an index on (status, created_at) that question reads every top-up
ever made; with it, only the few under way. The issuer references the sweep needs are already on the row: the
authorisation id (the RRN, recorded now as soon as the issuer approves, before the capture) in ``authorization_id``,
the card network through ``card_id``, and the top-up's id, which is both the authorisation's reference and the
ledger entry's id.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_top_ups_status_created", "top_ups", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_top_ups_status_created", table_name="top_ups")
