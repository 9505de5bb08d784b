"""Commission invoices and their numbers: one gapless, chronological sequence per year (CGI art. 242 nonies A).

``invoice_counters`` holds, per year of issue, the last number given and when it was given. An invoice is issued
in one transaction that locks its year's counter row, takes the next number and inserts the ``invoices`` row, so a
rolled-back issue gives its number back and two issues never share or skip one; a SEQUENCE would burn numbers on
rollback, which the rule forbids. ``last_issued_at`` keeps issue times from running backwards within a year even
if two servers' clocks disagree: numbers and dates read in the same order.

An invoice is issued once per (merchant, month) and never changes: the row keeps the rendered PDF and its SHA-256,
so asking again returns the same bytes even after the renderer or the issuer's details change. Times are epoch
microseconds; ``month`` is ``YYYY-MM``.

An issued invoice is a legal document, so the database guards both tables itself, as it guards the journal (0001),
against any code path or SQL prompt: ``invoices`` refuses UPDATE and DELETE (and TRUNCATE on PostgreSQL), and an
``invoice_counters`` row only moves forward, one number at a time (its year fixed, its last issue time never going
back), and is never deleted: a number once given can be neither taken back nor skipped.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_IMMUTABLE = "kleline: issued invoices never change"
_FORWARD = "kleline: invoice numbers only move forward"
_STEP = "NEW.year <> OLD.year OR NEW.last_number <> OLD.last_number + 1 OR NEW.last_issued_at < OLD.last_issued_at"

SQLITE_TRIGGERS = {
    "invoices_immutable": f"""CREATE TRIGGER invoices_immutable BEFORE UPDATE ON invoices
       BEGIN SELECT RAISE(ABORT, '{_IMMUTABLE}'); END""",
    "invoices_no_delete": f"""CREATE TRIGGER invoices_no_delete BEFORE DELETE ON invoices
       BEGIN SELECT RAISE(ABORT, '{_IMMUTABLE}'); END""",
    "invoice_counters_forward": f"""CREATE TRIGGER invoice_counters_forward BEFORE UPDATE ON invoice_counters
       WHEN {_STEP}
       BEGIN SELECT RAISE(ABORT, '{_FORWARD}'); END""",
    "invoice_counters_no_delete": f"""CREATE TRIGGER invoice_counters_no_delete BEFORE DELETE ON invoice_counters
       BEGIN SELECT RAISE(ABORT, '{_FORWARD}'); END""",
}

# check_violation (23514), so that drivers report an integrity error, as for the journal's guards.
POSTGRES_FUNCTIONS = {
    "kleline_invoices_immutable": f"""CREATE FUNCTION kleline_invoices_immutable() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION '{_IMMUTABLE}' USING ERRCODE = 'check_violation';
       END $$""",
    "kleline_invoice_counters_forward": f"""CREATE FUNCTION kleline_invoice_counters_forward() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION '{_FORWARD}' USING ERRCODE = 'check_violation';
       END $$""",
}

POSTGRES_TRIGGERS = {
    ("invoices_immutable", "invoices"): """CREATE TRIGGER invoices_immutable
       BEFORE UPDATE OR DELETE OR TRUNCATE ON invoices
       FOR EACH STATEMENT EXECUTE FUNCTION kleline_invoices_immutable()""",
    ("invoice_counters_forward", "invoice_counters"): f"""CREATE TRIGGER invoice_counters_forward
       BEFORE UPDATE ON invoice_counters FOR EACH ROW
       WHEN ({_STEP}) EXECUTE FUNCTION kleline_invoice_counters_forward()""",
    ("invoice_counters_no_delete", "invoice_counters"): """CREATE TRIGGER invoice_counters_no_delete
       BEFORE DELETE OR TRUNCATE ON invoice_counters
       FOR EACH STATEMENT EXECUTE FUNCTION kleline_invoice_counters_forward()""",
}


def upgrade() -> None:
    op.create_table(
        "invoice_counters",
        sa.Column("year", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("last_number", sa.Integer, nullable=False),
        sa.Column("last_issued_at", sa.BigInteger, nullable=False),
        sa.CheckConstraint("last_number >= 0", name="ck_invoice_counters_last_number"),
    )
    op.create_table(
        "invoices",
        sa.Column("number", sa.String(20), primary_key=True),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("merchant_id", sa.String(40), sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("issued_at", sa.BigInteger, nullable=False),
        sa.Column("commission", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("document", sa.LargeBinary, nullable=False),
        sa.Column("document_sha256", sa.String(64), nullable=False),
        sa.UniqueConstraint("year", "seq", name="uq_invoices_year_seq"),
        sa.UniqueConstraint("merchant_id", "month", name="uq_invoices_merchant_month"),
        sa.CheckConstraint("seq >= 1", name="ck_invoices_seq"),
    )
    if op.get_context().dialect.name == "postgresql":
        for statement in [*POSTGRES_FUNCTIONS.values(), *POSTGRES_TRIGGERS.values()]:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS.values():
            op.execute(statement)


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for name, table in POSTGRES_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        for function in POSTGRES_FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("invoices")
    op.drop_table("invoice_counters")
