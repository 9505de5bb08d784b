"""The database cannot serve a request now: busy (every connection in use, the server full, a lock storm) or
unreachable. Both are transient, so the API answers 503 with ``Retry-After`` rather than a 500: the client is told
to come back, and an ``Idempotency-Key`` retry is safe because nothing was committed.
"""

from __future__ import annotations

from kleline.errors import KlelineError

__all__ = ["DatabaseBusy", "DatabaseUnavailable"]


class DatabaseBusy(KlelineError):
    """Every connection this process may open is in use (or the server refuses more): retry after ``retry_after``."""

    code = "database_busy"
    status = 503

    def __init__(self, detail: str, *, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class DatabaseUnavailable(KlelineError):
    """The database cannot be reached (refused, shut down, the connection lost mid-way): retry later."""

    code = "database_unavailable"
    status = 503

    def __init__(self, detail: str, *, retry_after: int = 5) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
