"""PostgreSQL: the payments indexes that name few payments hold only those, so that a payment that never needs them
(a purse payment: no issuer's authorisation, never left ``processing`` or ``authorized``) adds no entry to them.

``ix_payments_status_expiry`` serves the sweeps, which look for authorised payments past their expiry and for
payments left ``processing`` or ``authorized`` by a crash: it now holds the payments in those two states only (a
payment created, then captured or failed, never enters it). ``ix_payments_authorization`` serves the look-up of a
card payment by the reference its network settles it under: it now holds the payments that have one (a purse
payment has none). Every query that used them names a status among those, or an authorisation id (which an
equality makes non-null), so the planner still uses them; a purse payment's insert and its update each write two
index entries fewer. SQLite is unchanged.

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_payments_status_expiry")
    op.execute(
        "CREATE INDEX ix_payments_status_expiry ON payments (status, expires_at) "
        "WHERE status IN ('processing', 'authorized')"
    )
    op.execute("DROP INDEX ix_payments_authorization")
    op.execute(
        "CREATE INDEX ix_payments_authorization ON payments (authorization_id) WHERE authorization_id IS NOT NULL"
    )


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_payments_status_expiry")
    op.execute("CREATE INDEX ix_payments_status_expiry ON payments (status, expires_at)")
    op.execute("DROP INDEX ix_payments_authorization")
    op.execute("CREATE INDEX ix_payments_authorization ON payments (authorization_id)")
