"""Statement documents as received, and the SQL that finds and takes up the imports a crash interrupted.

A document is kept zlib-compressed (camt.053 is verbose XML: a tenth of its size, or less) under an id derived
from the SHA-256 of its bytes, so that importing the same file again stores nothing new. Each statement recorded
from a document is tied to it in ``bank_statement_imports``, in the transaction that records the statement, before
any of its lines is booked: whatever happens next, the lines left to book can be read back.

An import is *interrupted* when it is not complete and nothing happened to it for a while: recorded, its last line
booked, and its last take-up by a sweep all before the cut-off. A live import books a line every few milliseconds,
so it never looks interrupted; a sweep that takes one up notes the time (``resumed_at``) under the statement's row
lock, so that a second worker looking at the same moment leaves it alone.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass

from kleline.db.engine import RawTx
from kleline.reconciliation.errors import StoredDocumentDamaged

__all__ = ["Document", "attach_document", "document", "interrupted_imports", "take_up"]


@dataclass(frozen=True, slots=True)
class Document:
    """A document ready to store: its id, digest and size, and its bytes compressed."""

    id: str
    sha256: str
    size: int
    content: bytes

    @classmethod
    def of(cls, xml: bytes) -> Document:
        """The document holding ``xml`` (compressed here, outside any transaction: a large file takes a while)."""
        digest = hashlib.sha256(xml).hexdigest()
        return cls(f"bsd_{digest[:32]}", digest, len(xml), zlib.compress(xml))


def attach_document(tx: RawTx, statement_key: str, document: Document, at: int) -> None:
    """Store ``document`` (unless stored) as the one statement ``statement_key`` came in, unless it has one."""
    linked = tx.fetchone("SELECT 1 FROM bank_statement_imports WHERE statement_id = :id", {"id": statement_key})
    if linked is not None:
        return
    tx.execute(
        "INSERT INTO statement_documents (id, sha256, size, content, received_at) "
        "VALUES (:id, :sha256, :size, :content, :at) ON CONFLICT (id) DO NOTHING",
        {"id": document.id, "sha256": document.sha256, "size": document.size, "content": document.content, "at": at},
    )
    tx.execute(
        "INSERT INTO bank_statement_imports (statement_id, document_id) VALUES (:statement, :document)",
        {"statement": statement_key, "document": document.id},
    )


def document(tx: RawTx, statement_key: str) -> bytes | None:
    """The bytes of the document statement ``statement_key`` came in, checked against their digest; None if none
    was kept (a statement recorded before documents were)."""
    row = tx.fetchone(
        "SELECT d.sha256, d.size, d.content FROM bank_statement_imports i "
        "JOIN statement_documents d ON d.id = i.document_id WHERE i.statement_id = :id",
        {"id": statement_key},
    )
    if row is None:
        return None
    size = int(row[1])
    inflater = zlib.decompressobj()
    try:
        # Never inflated past the size it was stored with (plus one byte, to tell a longer one): a damaged or forged
        # row must not make the sweep allocate what it decompresses to.
        xml = inflater.decompress(bytes(row[2]), size + 1)  # psycopg may hand bytea back as a memoryview
    except zlib.error as error:
        raise StoredDocumentDamaged(f"the stored document of bank statement {statement_key}: {error}") from error
    if len(xml) != size or not inflater.eof or hashlib.sha256(xml).hexdigest() != row[0]:
        raise StoredDocumentDamaged(f"the stored document of bank statement {statement_key} fails its digest")
    return xml


# The imports not complete, kept a document, and untouched since :before (see the module's docstring).
_INTERRUPTED = (
    "s.completed_at IS NULL AND s.imported_at < :before AND (i.resumed_at IS NULL OR i.resumed_at < :before) "
    "AND NOT EXISTS (SELECT 1 FROM bank_statement_lines l WHERE l.statement_id = s.id AND l.created_at >= :before)"
)


def interrupted_imports(tx: RawTx, before: int, limit: int) -> list[str]:
    """The statements whose import was interrupted (untouched since ``before``), oldest first."""
    rows = tx.fetchall(
        "SELECT s.id FROM bank_statements s JOIN bank_statement_imports i ON i.statement_id = s.id "
        f"WHERE {_INTERRUPTED} ORDER BY s.imported_at, s.id LIMIT :limit",
        {"before": before, "limit": limit},
    )
    return [row[0] for row in rows]


def take_up(tx: RawTx, statement_key: str, before: int, now: int) -> bool:
    """Take up an interrupted import (the caller holds the statement's row lock) by noting the time; False when it
    is not interrupted any more (finished, or taken up by another sweep or import)."""
    claimed = tx.execute(
        "UPDATE bank_statement_imports SET resumed_at = :now WHERE statement_id = :id AND EXISTS ("
        "SELECT 1 FROM bank_statements s JOIN bank_statement_imports i ON i.statement_id = s.id WHERE s.id = :id "
        f"AND {_INTERRUPTED})",
        {"id": statement_key, "before": before, "now": now},
    ).rowcount
    return bool(claimed == 1)
