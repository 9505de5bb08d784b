"""Kleline's staff audit trail, and roles on operator keys.

- ``staff_audit``: one row per act of Kleline's staff, in the console, through the API with an ``op_`` key, or at
  the command line: who (``actor_kind``: staff, key or cli; ``actor_id``), in which role (NULL: every power), what
  (``action``, on ``subject_type`` / ``subject_id``), the state before and after (canonical JSON text), when (epoch
  microseconds), from where. Rows are numbered 1, 2, 3... with no gap, and each row's ``hash`` links its canonical
  content to the previous row's hash, as the journal's chains do (0001), so that ``kleline audit verify`` finds an
  edited row (its hash no longer matches), a deleted one (a gap) and a cut tail (the head no longer matches).
- ``staff_audit_head``: the chain's one head row (the last number and hash). A record locks it, so records are
  numbered in commit order; staff acts are rare enough that this single chain costs nothing worth sharding.
- Guards in the database itself, as for the journal and invoices: ``staff_audit`` refuses UPDATE and DELETE (and
  TRUNCATE on PostgreSQL); the head only moves forward one number at a time and is never deleted. Nobody, through
  Kleline or a SQL prompt, edits the trail without first dropping a trigger, and then ``verify`` still tells.
- ``operator_keys.role``: the role an ``op_`` key acts in (``kleline operator create-key --role``); NULL for the
  keys made before roles existed, which keep every power.

Revision ID: 0035
Revises: 0034
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None

_IMMUTABLE = "kleline: the staff audit trail is append-only"
_FORWARD = "kleline: the staff audit head only moves forward"
_STEP = "NEW.id <> OLD.id OR NEW.seq <> OLD.seq + 1"
_ROLES = "'admin', 'compliance', 'finance', 'support'"

SQLITE_TRIGGERS = {
    "staff_audit_immutable": f"""CREATE TRIGGER staff_audit_immutable BEFORE UPDATE ON staff_audit
       BEGIN SELECT RAISE(ABORT, '{_IMMUTABLE}'); END""",
    "staff_audit_no_delete": f"""CREATE TRIGGER staff_audit_no_delete BEFORE DELETE ON staff_audit
       BEGIN SELECT RAISE(ABORT, '{_IMMUTABLE}'); END""",
    "staff_audit_head_forward": f"""CREATE TRIGGER staff_audit_head_forward BEFORE UPDATE ON staff_audit_head
       WHEN {_STEP}
       BEGIN SELECT RAISE(ABORT, '{_FORWARD}'); END""",
    "staff_audit_head_no_delete": f"""CREATE TRIGGER staff_audit_head_no_delete BEFORE DELETE ON staff_audit_head
       BEGIN SELECT RAISE(ABORT, '{_FORWARD}'); END""",
}

# check_violation (23514), so that drivers report an integrity error, as for the journal's guards.
POSTGRES_FUNCTIONS = {
    "kleline_staff_audit_immutable": f"""CREATE FUNCTION kleline_staff_audit_immutable() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION '{_IMMUTABLE}' USING ERRCODE = 'check_violation';
       END $$""",
    "kleline_staff_audit_head_forward": f"""CREATE FUNCTION kleline_staff_audit_head_forward() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION '{_FORWARD}' USING ERRCODE = 'check_violation';
       END $$""",
}

POSTGRES_TRIGGERS = {
    ("staff_audit_immutable", "staff_audit"): """CREATE TRIGGER staff_audit_immutable
       BEFORE UPDATE OR DELETE OR TRUNCATE ON staff_audit
       FOR EACH STATEMENT EXECUTE FUNCTION kleline_staff_audit_immutable()""",
    ("staff_audit_head_forward", "staff_audit_head"): f"""CREATE TRIGGER staff_audit_head_forward
       BEFORE UPDATE ON staff_audit_head FOR EACH ROW
       WHEN ({_STEP}) EXECUTE FUNCTION kleline_staff_audit_head_forward()""",
    ("staff_audit_head_no_delete", "staff_audit_head"): """CREATE TRIGGER staff_audit_head_no_delete
       BEFORE DELETE OR TRUNCATE ON staff_audit_head
       FOR EACH STATEMENT EXECUTE FUNCTION kleline_staff_audit_head_forward()""",
}


def upgrade() -> None:
    op.create_table(
        "staff_audit",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("id", sa.String(40), nullable=False, unique=True),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("actor_kind", sa.String(8), nullable=False),
        sa.Column("actor_id", sa.String(80), nullable=False),
        sa.Column("role", sa.String(16), nullable=True),
        sa.Column("action", sa.String(48), nullable=False),
        sa.Column("subject_type", sa.String(24), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=True),
        sa.Column("before", sa.Text, nullable=True),
        sa.Column("after", sa.Text, nullable=True),
        sa.Column("address", sa.String(64), nullable=True),
        sa.Column("hash", sa.LargeBinary, nullable=False),
        sa.CheckConstraint("seq >= 1", name="ck_staff_audit_seq"),
        sa.CheckConstraint("actor_kind IN ('staff', 'key', 'cli')", name="ck_staff_audit_actor_kind"),
        sa.CheckConstraint(f"role IS NULL OR role IN ({_ROLES})", name="ck_staff_audit_role"),
    )
    op.create_index("ix_staff_audit_at", "staff_audit", ["at"])
    op.create_index("ix_staff_audit_subject", "staff_audit", ["subject_type", "subject_id", "seq"])
    op.create_index("ix_staff_audit_actor", "staff_audit", ["actor_kind", "actor_id", "seq"])
    op.create_index("ix_staff_audit_action", "staff_audit", ["action", "seq"])
    head = op.create_table(
        "staff_audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.LargeBinary, nullable=False),
        sa.CheckConstraint("id = 1", name="ck_staff_audit_head_one_row"),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": bytes(32)}])
    with op.batch_alter_table("operator_keys") as batch:
        batch.add_column(sa.Column("role", sa.String(16), nullable=True))
        batch.create_check_constraint("ck_operator_keys_role", f"role IS NULL OR role IN ({_ROLES})")
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
    with op.batch_alter_table("operator_keys") as batch:
        batch.drop_constraint("ck_operator_keys_role", type_="check")
        batch.drop_column("role")
    op.drop_table("staff_audit_head")
    op.drop_table("staff_audit")
