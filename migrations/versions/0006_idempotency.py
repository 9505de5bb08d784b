"""Idempotency-Key records for POST requests.

One row per (caller, Idempotency-Key), claimed before the request runs (``status`` NULL while it is in flight) and
completed with the first answer. The id, the request's MAC and the sealed answer are all derived from the caller's
bearer and the key, which are never stored (see ``kleline.idempotency.sealing``). Times are epoch microseconds;
``created_at`` is indexed for the sweep.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idempotency_records",
        sa.Column("id", sa.LargeBinary(32), primary_key=True),
        sa.Column("request_mac", sa.LargeBinary(32), nullable=False),
        sa.Column("claim", sa.LargeBinary(16), nullable=False),
        sa.Column("status", sa.SmallInteger, nullable=True),
        sa.Column("response", sa.LargeBinary, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("completed_at", sa.BigInteger, nullable=True),
        sa.CheckConstraint("(status IS NULL) = (response IS NULL)", name="ck_idempotency_records_answer"),
    )
    op.create_index("ix_idempotency_records_created", "idempotency_records", ["created_at"])


def downgrade() -> None:
    op.drop_table("idempotency_records")
