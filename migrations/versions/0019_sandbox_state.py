"""The in-process sandbox issuers' books, kept in the database (``KLELINE_BANK_URL=sandbox:``).

They lived in each process's memory: a ``kill -9`` forgot every authorisation (its capture was then refused), and
each process (every API worker, the worker) had sandbox issuers of its own, so the worker never knew what the API had
authorised. Now every request to the sandbox runs in one transaction on these tables, one request at a time.

``sandbox_cardholders``: one row per card used, keyed by a keyed hash of its number (never the number), with the
balance each currency opens at; ``sandbox_balances``: its posted and held amounts per currency.
``sandbox_rrns``: what the issuers remember of each RRN, forgotten ``retention`` after ``last_seen`` (30 days by
default): the first answer to its authorisation and what was asked (``card_key``, amount: repeats get the same answer),
the authorisation it opened (``state`` NULL when none: declined, or only an early reversal), and whether a reversal
came before any authorisation. ``sandbox_refunds``: the refunds credited, by reference, forgotten with their RRN.
Times are epoch microseconds, amounts minor units.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sandbox_cardholders",
        sa.Column("card_key", sa.String(64), primary_key=True),
        sa.Column("opening", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "sandbox_balances",
        sa.Column("card_key", sa.String(64), sa.ForeignKey("sandbox_cardholders.card_key"), primary_key=True),
        sa.Column("currency", sa.String(3), primary_key=True),
        sa.Column("posted", sa.BigInteger, nullable=False),
        sa.Column("held", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "sandbox_rrns",
        sa.Column("rrn", sa.String(12), primary_key=True),
        sa.Column("last_seen", sa.BigInteger, nullable=False),
        sa.Column("reversed_early", sa.Boolean, nullable=False),
        sa.Column("card_key", sa.String(64), nullable=True),
        sa.Column("amount", sa.BigInteger, nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("code", sa.String(2), nullable=True),
        sa.Column("approval_code", sa.String(6), nullable=True),
        sa.Column("cvc_result", sa.String(1), nullable=True),
        sa.Column("state", sa.String(8), nullable=True),
        sa.Column("captured", sa.BigInteger, nullable=True),
        sa.Column("refunded", sa.BigInteger, nullable=False),
        sa.CheckConstraint(
            "(code IS NULL) = (card_key IS NULL) AND (code IS NULL) = (amount IS NULL) "
            "AND (code IS NULL) = (currency IS NULL) AND (code IS NULL) = (cvc_result IS NULL)",
            name="ck_sandbox_rrns_answer",
        ),
        sa.CheckConstraint(
            "state IS NULL OR (code IS NOT NULL AND state IN ('open', 'captured', 'reversed'))",
            name="ck_sandbox_rrns_state",
        ),
        sa.CheckConstraint("(state = 'captured') = (captured IS NOT NULL)", name="ck_sandbox_rrns_captured"),
        sa.CheckConstraint("refunded >= 0", name="ck_sandbox_rrns_refunded"),
    )
    op.create_index("ix_sandbox_rrns_last_seen", "sandbox_rrns", ["last_seen"])
    op.create_table(
        "sandbox_refunds",
        sa.Column("reference", sa.String(100), primary_key=True),
        sa.Column("rrn", sa.String(12), sa.ForeignKey("sandbox_rrns.rrn"), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
    )
    op.create_index("ix_sandbox_refunds_rrn", "sandbox_refunds", ["rrn"])


def downgrade() -> None:
    op.drop_table("sandbox_refunds")
    op.drop_table("sandbox_rrns")
    op.drop_table("sandbox_balances")
    op.drop_table("sandbox_cardholders")
