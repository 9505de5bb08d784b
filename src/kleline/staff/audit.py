"""The staff audit trail: every act of Kleline's staff, append-only and tamper-evident.

``record`` appends one record in the transaction of the act it describes, so an act is never kept without its record
nor a record without its act; call it as the transaction's last write, since it locks the chain's head until commit.
Each record is numbered (1, 2, 3... without a gap) and its hash links its canonical content to the previous record's
hash, as the journal's chains do. The database refuses any UPDATE or DELETE of a record (migration 0035), and
``verify`` recomputes the chain, so that a record edited or removed behind the triggers' back is still found.

A record says who (the ``StaffActor``: console user, ``op_`` key or command line, and its role), what (``action``
on a subject: ``merchant``, ``customer``, ``settlement_run``...), the state before and after (small JSON documents,
never a secret nor a full card number or IBAN), when and from where.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from kleline.clock import epoch_us, from_epoch_us
from kleline.db.engine import Database, RawTx, link_hash
from kleline.ids import new_id
from kleline.staff import audit_store
from kleline.staff.actor import StaffActor
from kleline.staff.roles import Role

__all__ = [
    "EXPORT_DOWNLOADED",
    "AuditFilters",
    "AuditPage",
    "AuditRecord",
    "AuditReport",
    "record",
    "find",
    "record_alone",
    "record_download",
    "search",
    "verify",
]

GENESIS: Final = bytes(32)
EXPORT_DOWNLOADED: Final = "export_downloaded"
"""The one read that is recorded: a file of the books or of a run leaving Kleline (``record_download``)."""
_ADDRESS_LENGTH: Final = 64
_ID_LENGTH: Final = 80


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One act of one operator, as the trail keeps it."""

    seq: int
    id: str
    at: datetime
    actor_kind: str
    actor_id: str
    role: Role | None
    action: str
    subject_type: str
    subject_id: str | None
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    address: str | None


@dataclass(frozen=True, slots=True)
class AuditFilters:
    """What to look for in the trail; every field left None matches everything."""

    actor_kind: str | None = None
    actor_id: str | None = None
    role: str | None = None
    action: str | None = None
    subject_type: str | None = None
    subject_id: str | None = None
    at_from: datetime | None = None
    at_to: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditPage:
    """A page of the trail, newest first."""

    records: list[AuditRecord]
    has_more: bool


@dataclass(slots=True)
class AuditReport:
    """What ``verify`` found: ``problems`` names every broken record, gap or head mismatch."""

    records: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the whole chain checks out."""
        return not self.problems


def _json(document: Mapping[str, Any] | None) -> str | None:
    if document is None:
        return None
    return json.dumps(dict(document), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _content(row: Mapping[str, Any]) -> bytes:
    """The bytes a record's hash covers: every column but the hash, in a fixed order, as compact JSON."""
    fields = [
        row["seq"],
        row["id"],
        row["at"],
        row["actor_kind"],
        row["actor_id"],
        row["role"],
        row["action"],
        row["subject_type"],
        row["subject_id"],
        row["before"],
        row["after"],
        row["address"],
    ]
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode()


def _hash(previous: bytes, row: Mapping[str, Any]) -> bytes:
    return link_hash(previous, hashlib.sha256(_content(row)).digest())


def record(
    tx: RawTx,
    actor: StaffActor,
    action: str,
    subject_type: str,
    subject_id: str | None,
    *,
    at: datetime,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditRecord:
    """Append one record of ``actor``'s ``action`` on a subject, in the caller's transaction (its last write)."""
    seq, previous = audit_store.lock_head(tx)
    row: dict[str, Any] = {
        "seq": seq + 1,
        "id": new_id("sae"),
        "at": epoch_us(at),
        "actor_kind": actor.kind,
        "actor_id": actor.id[:_ID_LENGTH],
        "role": actor.role.value if actor.role else None,
        "action": action,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "before": _json(before),
        "after": _json(after),
        "address": actor.address[:_ADDRESS_LENGTH] if actor.address else None,
    }
    row["hash"] = _hash(previous, row)
    audit_store.append(tx, row)
    return _record(tuple(row[name] for name in _NAMES))


def record_alone(
    db: Database,
    actor: StaffActor,
    action: str,
    subject_type: str,
    subject_id: str | None,
    *,
    at: datetime,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditRecord:
    """Append one record in a transaction of its own, for an act that has none to share: a download, or work done
    in many transactions (re-wrapping the vault's keys), recorded once it is done."""
    with db.transaction() as tx:
        return record(tx, actor, action, subject_type, subject_id, at=at, before=before, after=after)


def record_download(
    db: Database,
    actor: StaffActor,
    subject_type: str,
    subject_id: str | None,
    *,
    at: datetime,
    details: Mapping[str, Any] | None = None,
) -> AuditRecord:
    """Record that ``actor`` downloaded an export or a file (``export_downloaded``): reads are not recorded, but
    what leaves Kleline as a file is. Call it before handing the file over."""
    return record_alone(db, actor, EXPORT_DOWNLOADED, subject_type, subject_id, at=at, after=details)


_NAMES: Final = (
    "seq",
    "id",
    "at",
    "actor_kind",
    "actor_id",
    "role",
    "action",
    "subject_type",
    "subject_id",
    "before",
    "after",
    "address",
)


def _record(row: tuple[Any, ...]) -> AuditRecord:
    seq, record_id, at, kind, actor_id, role, action, subject_type, subject_id, before, after, address = row[:12]
    return AuditRecord(
        seq=int(seq),
        id=record_id,
        at=from_epoch_us(int(at)),
        actor_kind=kind,
        actor_id=actor_id,
        role=Role(role) if role else None,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        before=json.loads(before) if before is not None else None,
        after=json.loads(after) if after is not None else None,
        address=address,
    )


def search(db: Database, filters: AuditFilters, *, limit: int = 50, starting_after: str | None = None) -> AuditPage:
    """Records matching ``filters``, newest first; ``starting_after`` is the last record id of the previous page
    (an unknown id gives an empty page rather than the first one again)."""
    with db.transaction(write=False) as tx:
        before_seq: int | None = None
        if starting_after is not None:
            before_seq = audit_store.seq_of(tx, starting_after)
            if before_seq is None:
                return AuditPage([], False)
        wanted = {
            "actor_kind": filters.actor_kind,
            "actor_id": filters.actor_id,
            "role": filters.role,
            "action": filters.action,
            "subject_type": filters.subject_type,
            "subject_id": filters.subject_id,
            "at_from": epoch_us(filters.at_from) if filters.at_from else None,
            "at_to": epoch_us(filters.at_to) if filters.at_to else None,
        }
        rows = audit_store.search(tx, wanted, before_seq=before_seq, limit=limit + 1)
    return AuditPage([_record(row) for row in rows[:limit]], len(rows) > limit)


def find(db: Database, record_id: str) -> AuditRecord | None:
    """The record ``record_id``, if there is one."""
    with db.transaction(write=False) as tx:
        row = audit_store.find(tx, record_id)
    return None if row is None else _record(row)


def verify(db: Database) -> AuditReport:
    """Recompute the whole chain in one snapshot: every record's hash, the numbering's gaps, and the head."""
    report = AuditReport()
    with db.transaction(write=False, snapshot=True) as tx:
        previous, expected = GENESIS, 1
        for row in audit_store.iter_rows(tx):
            named = dict(zip((*_NAMES, "hash"), row, strict=True))
            seq = int(named["seq"])
            if seq != expected:
                report.problems.append(f"records {expected} to {seq - 1} are missing")
            recomputed = _hash(previous, named)
            if recomputed != bytes(named["hash"]):
                report.problems.append(f"record {seq} ({named['id']}) does not match its hash: it was changed")
            previous, expected = bytes(named["hash"]), seq + 1
            report.records += 1
        head_seq, head_hash = audit_store.head(tx)
    if head_seq != expected - 1:
        report.problems.append(f"the head says {head_seq} records, the trail ends at {expected - 1}")
    elif head_hash != previous:
        report.problems.append("the head's hash does not match the last record")
    return report
