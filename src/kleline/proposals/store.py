"""The SQL of four-eyes proposals (``proposals``, migration 0037)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from kleline.clock import epoch_us, from_epoch_us
from kleline.db.engine import RawTx
from kleline.proposals.model import ACTOR_ID_LENGTH, Proposal, ProposalKind
from kleline.staff.actor import StaffActor
from kleline.staff.roles import Role

__all__ = ["count_pending", "decide", "find", "insert", "list_proposals", "pending", "to_json"]

_COLUMNS = (
    "id, kind, subject_type, subject_id, parameters, status, proposed_by_kind, proposed_by_id, proposed_by_role, "
    "proposed_at, decided_by_kind, decided_by_id, decided_by_role, decided_at, reason, failure_code, result"
)


def to_json(document: Mapping[str, Any]) -> str:
    """A document as canonical JSON text (sorted keys, compact)."""
    return json.dumps(dict(document), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _actor(kind: Any, actor_id: Any, role: Any) -> StaffActor | None:
    if kind is None:
        return None
    return StaffActor(kind, str(actor_id), Role(role) if role else None)


def _proposal(row: Sequence[Any]) -> Proposal:
    proposed_by = _actor(row[6], row[7], row[8])
    assert proposed_by is not None  # NOT NULL
    return Proposal(
        id=row[0],
        kind=ProposalKind(row[1]),
        subject_type=row[2],
        subject_id=row[3],
        parameters=json.loads(row[4]),
        status=row[5],
        proposed_by=proposed_by,
        proposed_at=from_epoch_us(int(row[9])),
        decided_by=_actor(row[10], row[11], row[12]),
        decided_at=None if row[13] is None else from_epoch_us(int(row[13])),
        reason=row[14],
        failure_code=row[15],
        result=None if row[16] is None else json.loads(row[16]),
    )


def insert(tx: RawTx, proposal: Proposal) -> None:
    """Record a new pending proposal (the partial unique index refuses a second pending one of its kind and subject)."""
    actor = proposal.proposed_by
    tx.execute(
        "INSERT INTO proposals (id, kind, subject_type, subject_id, parameters, status, proposed_by_kind, "
        "proposed_by_id, proposed_by_role, proposed_at) VALUES (:id, :kind, :subject_type, :subject_id, :parameters, "
        "'pending', :actor_kind, :actor_id, :actor_role, :at)",
        {
            "id": proposal.id,
            "kind": proposal.kind.value,
            "subject_type": proposal.subject_type,
            "subject_id": proposal.subject_id,
            "parameters": to_json(proposal.parameters),
            "actor_kind": actor.kind,
            "actor_id": actor.id[:ACTOR_ID_LENGTH],
            "actor_role": actor.role.value if actor.role else None,
            "at": epoch_us(proposal.proposed_at),
        },
    )


def find(tx: RawTx, proposal_id: str, *, lock: bool = False) -> Proposal | None:
    """One proposal, its row locked for the rest of the transaction with ``lock`` (PostgreSQL)."""
    suffix = " FOR UPDATE" if lock and tx.is_postgres else ""
    row = tx.fetchone(f"SELECT {_COLUMNS} FROM proposals WHERE id = :id{suffix}", {"id": proposal_id})
    return None if row is None else _proposal(row)


def pending(tx: RawTx, kind: ProposalKind, subject_id: str) -> Proposal | None:
    """The pending proposal of this kind on this subject, if there is one (there is at most one)."""
    row = tx.fetchone(
        f"SELECT {_COLUMNS} FROM proposals WHERE kind = :kind AND subject_id = :subject AND status = 'pending'",
        {"kind": kind.value, "subject": subject_id},
    )
    return None if row is None else _proposal(row)


def count_pending(tx: RawTx) -> int:
    """How many proposals wait for a second person."""
    row = tx.fetchone("SELECT COUNT(*) FROM proposals WHERE status = 'pending'")
    return int(row[0]) if row is not None else 0


def list_proposals(
    tx: RawTx,
    *,
    status: str | None,
    kind: str | None,
    subject_id: str | None,
    before: tuple[int, str] | None,
    limit: int,
) -> list[Proposal]:
    """Proposals newest first, matching every filter given, before ``(proposed_at, id)`` if given."""
    where: list[str] = []
    params: dict[str, object] = {"limit": limit}
    for column, value in (("status", status), ("kind", kind), ("subject_id", subject_id)):
        if value is not None:
            where.append(f"{column} = :{column}")
            params[column] = value
    if before is not None:
        where.append("(proposed_at < :at OR (proposed_at = :at AND id < :id))")
        params.update(at=before[0], id=before[1])
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    rows = tx.fetchall(
        f"SELECT {_COLUMNS} FROM proposals{clause} ORDER BY proposed_at DESC, id DESC LIMIT :limit", params
    )
    return [_proposal(row) for row in rows]


def decide(
    tx: RawTx,
    proposal_id: str,
    status: str,
    actor: StaffActor,
    at: int,
    *,
    reason: str | None = None,
    failure_code: str | None = None,
    result: Mapping[str, Any] | None = None,
) -> bool:
    """Move a pending proposal to ``status``; False when it was no longer pending (another decision came first)."""
    cursor = tx.execute(
        "UPDATE proposals SET status = :status, decided_by_kind = :kind, decided_by_id = :actor_id, "
        "decided_by_role = :role, decided_at = :at, reason = :reason, failure_code = :failure_code, "
        "result = :result WHERE id = :id AND status = 'pending'",
        {
            "status": status,
            "kind": actor.kind,
            "actor_id": actor.id[:ACTOR_ID_LENGTH],
            "role": actor.role.value if actor.role else None,
            "at": at,
            "reason": reason,
            "failure_code": failure_code,
            "result": None if result is None else to_json(result),
            "id": proposal_id,
        },
    )
    return int(cursor.rowcount) == 1
