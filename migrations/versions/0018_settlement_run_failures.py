"""Settlement runs that failed: the reason a run stopped, so that it ends in a clear state instead of ``running``.

A run that meets a fault retrying cannot get past (one of Kleline's own ledger accounts missing, a file the schema
refuses) used to stay ``running`` for ever, and the worker's sweep retried it every pass. Now the reason is recorded
here, in the transaction after the one the fault rolled back: the run reads ``failed`` with its reason while the row
exists, the sweep leaves it alone, and running the period again deletes the row and resumes the run (payouts already
committed stay, so nobody is paid twice).

A table of its own rather than a new status and column on ``settlement_runs``: that table's CHECK constraints would
have to change, which SQLite can only do by rebuilding it under the payouts that refer to it. Times are epoch
microseconds.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "settlement_run_failures",
        sa.Column("run_id", sa.String(40), sa.ForeignKey("settlement_runs.id"), primary_key=True),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("failed_at", sa.BigInteger, nullable=False),
        sa.CheckConstraint("length(reason) > 0", name="ck_settlement_run_failures_reason"),
    )


def downgrade() -> None:
    op.drop_table("settlement_run_failures")
