"""The integrity check: the ledger's hash chains and balances and the staff audit trail, verified together, with the
result kept so that the console can say when the books were last found intact and by whom.

Verifying reads the whole journal in one snapshot; it is run on demand (the command line, the console) rather than
on every page view, and the stored result is what pages show.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from kleline.clock import Clock, epoch_us, from_epoch_us
from kleline.db.engine import Database
from kleline.ids import new_id
from kleline.ledger.audit import VerifyReport
from kleline.ledger.audit import verify as verify_ledger
from kleline.staff.actor import StaffActor
from kleline.staff.audit import AuditReport
from kleline.staff.audit import verify as verify_audit

__all__ = ["IntegrityCheck", "last_check", "run_check"]

_KEPT_PROBLEMS: Final = 200


@dataclass(frozen=True, slots=True)
class IntegrityCheck:
    """One run of the check: what it covered, whether each part was intact, and the problems it found (at most
    the first 200 kept; ``problem_count`` counts them all)."""

    id: str
    started_at: datetime
    finished_at: datetime
    run_by: str
    ledger_ok: bool
    entries: int
    chains: int
    accounts: int
    audit_ok: bool
    audit_records: int
    problem_count: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when both the books and the audit trail were intact."""
        return self.ledger_ok and self.audit_ok


def run_check(db: Database, by: StaffActor, *, clock: Clock) -> tuple[IntegrityCheck, VerifyReport, AuditReport]:
    """Verify the books and the audit trail, keep the result, and return it with both full reports."""
    started = clock()
    ledger = verify_ledger(db)
    audit = verify_audit(db)
    problems = [*ledger.problems, *(f"audit trail: {problem}" for problem in audit.problems)]
    check = IntegrityCheck(
        id=new_id("ic"),
        started_at=started,
        finished_at=clock(),
        run_by=by.label[:96],
        ledger_ok=ledger.ok,
        entries=ledger.entries,
        chains=ledger.chains,
        accounts=ledger.accounts,
        audit_ok=audit.ok,
        audit_records=audit.records,
        problem_count=len(problems),
        problems=tuple(problems[:_KEPT_PROBLEMS]),
    )
    with db.transaction() as tx:
        tx.execute(
            "INSERT INTO integrity_checks (id, started_at, finished_at, run_by, ledger_ok, entries, chains, accounts,"
            " audit_ok, audit_records, problem_count, problems) VALUES (:id, :started_at, :finished_at, :run_by,"
            " :ledger_ok, :entries, :chains, :accounts, :audit_ok, :audit_records, :problem_count, :problems)",
            {
                "id": check.id,
                "started_at": epoch_us(check.started_at),
                "finished_at": epoch_us(check.finished_at),
                "run_by": check.run_by,
                "ledger_ok": check.ledger_ok,
                "entries": check.entries,
                "chains": check.chains,
                "accounts": check.accounts,
                "audit_ok": check.audit_ok,
                "audit_records": check.audit_records,
                "problem_count": check.problem_count,
                "problems": json.dumps(list(check.problems), ensure_ascii=False),
            },
        )
    return check, ledger, audit


def last_check(db: Database) -> IntegrityCheck | None:
    """The latest run of the check, or None if it never ran."""
    with db.transaction(write=False) as tx:
        row = tx.fetchone(
            "SELECT id, started_at, finished_at, run_by, ledger_ok, entries, chains, accounts, audit_ok,"
            " audit_records, problem_count, problems FROM integrity_checks ORDER BY finished_at DESC, id DESC LIMIT 1"
        )
    if row is None:
        return None
    return IntegrityCheck(
        id=row[0],
        started_at=from_epoch_us(int(row[1])),
        finished_at=from_epoch_us(int(row[2])),
        run_by=row[3],
        ledger_ok=bool(row[4]),
        entries=int(row[5]),
        chains=int(row[6]),
        accounts=int(row[7]),
        audit_ok=bool(row[8]),
        audit_records=int(row[9]),
        problem_count=int(row[10]),
        problems=tuple(json.loads(row[11])),
    )
