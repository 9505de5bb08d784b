"""Editing the staff audit trail as someone with database access could: with its triggers out of the way."""

from __future__ import annotations

from kleline.db.engine import Database

__all__ = ["edit_as_attacker"]


def edit_as_attacker(db: Database, statement: str) -> None:
    """Run ``statement`` with the trail's triggers off (PostgreSQL: replica mode; SQLite: dropped, then put back)."""
    with db.transaction() as tx:
        if db.is_postgres:
            tx.execute("SET LOCAL session_replication_role = replica")
            tx.execute(statement)
        else:
            triggers = tx.fetchall(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'staff_audit%'"
            )
            for name, _ in triggers:
                tx.execute(f"DROP TRIGGER {name}")
            tx.execute(statement)
            for _, sql in triggers:
                tx.execute(sql)
