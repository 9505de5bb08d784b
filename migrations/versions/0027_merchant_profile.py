"""Merchants' public profile: what they sell (``description``) and since when Kleline has approved them.

The malls' pages show each active merchant with a line on what it sells, and a merchant's public page says since
when Kleline knows it: ``approved_at`` is the first approval (a suspension and a new approval do not reset it, the
merchant has been known since the first). Merchants approved before this revision get the time of their last status
change, the best the books hold: for one never suspended, that is its approval. Times are epoch microseconds.

Revision ID: 0027
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("merchants") as batch:
        batch.add_column(sa.Column("description", sa.String(500), nullable=True))
        batch.add_column(sa.Column("approved_at", sa.BigInteger, nullable=True))
    op.execute("UPDATE merchants SET approved_at = status_changed_at WHERE status IN ('active', 'suspended')")


def downgrade() -> None:
    with op.batch_alter_table("merchants") as batch:
        batch.drop_column("approved_at")
        batch.drop_column("description")
