"""Statement documents: the camt.053 bytes of each import, kept so that an interrupted import can be finished.

An import records each statement, then books its lines one transaction at a time; a process killed in between left
the statement half-booked until someone imported the same file again. Now the document is stored, zlib-compressed,
in the transaction that records its statements (before any line is booked), and the worker's
``reconciliation.finish_interrupted`` sweep reads it back to book the remaining lines.

``statement_documents`` holds a document once however often it is imported (its id is derived from the SHA-256 of
its bytes; the full digest and the size check what is read back). ``bank_statement_imports`` ties each statement
recorded from now on to its document, and says when a sweep last took its import up (``resumed_at``): with the
time of its last booked line, that tells a live import, or a sweep at work, from an abandoned one. Statements
recorded before this revision have no row there: an interrupted one among them still needs its file imported again.

An import's state stays ``bank_statements.completed_at`` (NULL while ``importing``, set once ``complete``); the
partial index finds the imports not complete. Both tables are new, so that no existing table is rebuilt (SQLite
cannot add a foreign key to ``bank_statements`` in place, and the lines and suspense items refer to it). Times are
epoch microseconds.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "statement_documents",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("received_at", sa.BigInteger, nullable=False),
        sa.CheckConstraint("size > 0", name="ck_statement_documents_size"),
    )
    op.create_table(
        "bank_statement_imports",
        sa.Column("statement_id", sa.String(40), sa.ForeignKey("bank_statements.id"), primary_key=True),
        sa.Column("document_id", sa.String(40), sa.ForeignKey("statement_documents.id"), nullable=False),
        sa.Column("resumed_at", sa.BigInteger, nullable=True),
    )
    op.create_index(
        "ix_bank_statements_importing",
        "bank_statements",
        ["imported_at"],
        sqlite_where=sa.text("completed_at IS NULL"),
        postgresql_where=sa.text("completed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_bank_statements_importing", table_name="bank_statements")
    op.drop_table("bank_statement_imports")
    op.drop_table("statement_documents")
