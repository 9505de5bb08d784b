"""The integrity checks' results, so that the console shows when the books and the staff audit trail were last
checked, by whom, and what was found.

``integrity_checks``: one row per run of the check (``kleline ledger verify``, ``kleline audit verify``, or the
console's button): when it started and ended, who ran it, the ledger's counts (entries, chains, accounts), the
audit trail's record count, whether each part was intact, and the problems found (a JSON list, the first 200; the
count in full). Rows are only ever added.

Revision ID: 0039
Revises: 0038
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "integrity_checks",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("started_at", sa.BigInteger, nullable=False),
        sa.Column("finished_at", sa.BigInteger, nullable=False),
        sa.Column("run_by", sa.String(96), nullable=False),
        sa.Column("ledger_ok", sa.Boolean, nullable=False),
        sa.Column("entries", sa.BigInteger, nullable=False),
        sa.Column("chains", sa.Integer, nullable=False),
        sa.Column("accounts", sa.BigInteger, nullable=False),
        sa.Column("audit_ok", sa.Boolean, nullable=False),
        sa.Column("audit_records", sa.BigInteger, nullable=False),
        sa.Column("problem_count", sa.Integer, nullable=False),
        sa.Column("problems", sa.Text, nullable=False),
    )
    op.create_index("ix_integrity_checks_finished_at", "integrity_checks", ["finished_at"])


def downgrade() -> None:
    op.drop_index("ix_integrity_checks_finished_at", table_name="integrity_checks")
    op.drop_table("integrity_checks")
