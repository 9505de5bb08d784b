"""Reversals waiting to be sent: the store-and-forward queue that makes sure a lost answer never leaves money held.

When an authorisation gets no answer, the issuer may have approved it and be holding the cardholder's funds for an
authorisation Kleline will never capture. ``IsoBankNetwork`` sends a reversal at once; when the network cannot be
reached for that either, the reversal is queued here (table ``bank_reversals``, one row per RRN) and the worker's
``banks.retry_reversals`` sweep resends it, with a growing pause, until the issuer acknowledges it. Three answers
close it: approved ("00"), unknown record ("25": the issuer never saw the authorisation, so it holds nothing) and
invalid transaction ("12": already closed). Any other outcome keeps it queued, with its last error for operators.

A reversal that cannot even be queued (the database fails) leaves the issuer holding funds that nothing will
release before the hold lapses: ``enqueue`` logs that authorisation at ERROR, by RRN, STAN and amount (never the card
number, which it does not have), before the error goes on up, so that an operator can reverse it by hand.

Resending is always safe: a reversal of an RRN the issuer already released is answered "00" again. Two workers may
therefore race without harm; each row is still claimed (attempts + 1, next attempt pushed back) before it is sent,
so that they seldom do.
"""

from __future__ import annotations

import builtins
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from kleline.banks.errors import AuthorizationClosed, BankError, UnknownAuthorization
from kleline.banks.network import BankNetwork, ResponseCode
from kleline.clock import Clock, epoch_us, from_epoch_us, system_clock
from kleline.db.engine import Database
from kleline.money import Money

__all__ = ["QueuedReversal", "ReversalQueue"]

_log = logging.getLogger(__name__)
_COLUMNS: Final = "rrn, reason, attempts, next_attempt_at, created_at, done_at, outcome, last_error"


@dataclass(frozen=True, slots=True)
class QueuedReversal:
    """A reversal in the queue: open while ``done_at`` is None; ``outcome`` is the response code that closed it."""

    rrn: str
    reason: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    done_at: datetime | None = None
    outcome: str | None = None
    last_error: str | None = None

    @property
    def open(self) -> bool:
        """Still to be sent."""
        return self.done_at is None


class ReversalQueue:
    """Reversals the network could not deliver at once, resent by the worker until the issuer acknowledges them."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Clock = system_clock,
        first_retry: timedelta = timedelta(seconds=10),
        max_delay: timedelta = timedelta(hours=1),
    ) -> None:
        self._db = db
        self._clock = clock
        self._first_retry = first_retry
        self._max_delay = max_delay

    def enqueue(self, rrn: str, reason: str, *, stan: str | None = None, amount: Money | None = None) -> None:
        """Queue a reversal of ``rrn``, due now; queuing it again reopens it (sending it twice is harmless).

        ``stan`` and ``amount`` (of the authorisation) are only for the log, should the queue itself fail."""
        now = epoch_us(self._clock())
        try:
            with self._db.transaction() as tx:
                tx.execute(
                    "INSERT INTO bank_reversals (rrn, reason, attempts, next_attempt_at, created_at) "
                    "VALUES (:rrn, :reason, 0, :now, :now) ON CONFLICT (rrn) DO UPDATE SET done_at = NULL, "
                    "outcome = NULL, reason = excluded.reason, next_attempt_at = excluded.next_attempt_at",
                    {"rrn": rrn, "reason": reason[:40], "now": now},
                )
        except Exception as error:
            # The error's type only: a driver's message may quote the statement, and nothing here needs it.
            _log.error(
                "reversal NOT queued (%s): authorisation rrn=%s stan=%s amount=%s may stay held at the issuer; "
                "reverse it by hand (reason %s)",
                type(error).__name__,
                rrn,
                stan or "?",
                amount if amount is not None else "?",
                reason[:40],
            )
            raise

    def get(self, rrn: str) -> QueuedReversal | None:
        """The queued reversal of ``rrn``, open or closed, or None."""
        with self._db.transaction(write=False) as tx:
            row = tx.fetchone(f"SELECT {_COLUMNS} FROM bank_reversals WHERE rrn = :rrn", {"rrn": rrn})
        return None if row is None else _reversal(row)

    def pending(self, limit: int = 100) -> builtins.list[QueuedReversal]:
        """Open reversals, the most overdue first (for operators and the sweep)."""
        with self._db.transaction(write=False) as tx:
            rows = tx.fetchall(
                f"SELECT {_COLUMNS} FROM bank_reversals WHERE done_at IS NULL "
                "ORDER BY next_attempt_at, rrn LIMIT :limit",
                {"limit": limit},
            )
        return [_reversal(row) for row in rows]

    def retry(self, network: BankNetwork, limit: int = 100) -> int:
        """The sweep: resend every open reversal that is due; how many the issuer acknowledged (closed)."""
        now = self._clock()
        with self._db.transaction(write=False) as tx:
            rows = tx.fetchall(
                f"SELECT {_COLUMNS} FROM bank_reversals WHERE done_at IS NULL AND next_attempt_at <= :now "
                "ORDER BY next_attempt_at, rrn LIMIT :limit",
                {"now": epoch_us(now), "limit": limit},
            )
        closed = 0
        for reversal in map(_reversal, rows):
            if not self._claim(reversal, now):
                continue  # another worker took it
            outcome, error = _send(network, reversal.rrn)
            self._settle(reversal.rrn, outcome, error)
            closed += outcome is not None
        return closed

    def _claim(self, reversal: QueuedReversal, now: datetime) -> bool:
        # Doubling stops once past the cap: 2**attempts itself would overflow timedelta after a long outage.
        delay = self._first_retry
        for _ in range(reversal.attempts):
            if delay >= self._max_delay:
                break
            delay *= 2
        delay = min(delay, self._max_delay)
        with self._db.transaction() as tx:
            cursor = tx.execute(
                "UPDATE bank_reversals SET attempts = attempts + 1, next_attempt_at = :next "
                "WHERE rrn = :rrn AND done_at IS NULL AND attempts = :attempts",
                {"next": epoch_us(now + delay), "rrn": reversal.rrn, "attempts": reversal.attempts},
            )
            return int(cursor.rowcount) == 1

    def _settle(self, rrn: str, outcome: str | None, error: str | None) -> None:
        with self._db.transaction() as tx:
            if outcome is None:
                tx.execute(
                    "UPDATE bank_reversals SET last_error = :error WHERE rrn = :rrn", {"error": error, "rrn": rrn}
                )
            else:
                tx.execute(
                    "UPDATE bank_reversals SET done_at = :now, outcome = :outcome, last_error = NULL "
                    "WHERE rrn = :rrn AND done_at IS NULL",
                    {"now": epoch_us(self._clock()), "outcome": outcome, "rrn": rrn},
                )


def _send(network: BankNetwork, rrn: str) -> tuple[str | None, str | None]:
    """The response code that closes the reversal, or None and why it stays open."""
    try:
        return network.reverse(rrn).code, None
    except UnknownAuthorization:
        return ResponseCode.UNKNOWN_RECORD.value, None
    except AuthorizationClosed:
        return ResponseCode.INVALID_TRANSACTION.value, None
    except BankError as error:
        return None, error.code[:60]


def _reversal(row: Any) -> QueuedReversal:
    return QueuedReversal(
        rrn=row[0],
        reason=row[1],
        attempts=int(row[2]),
        next_attempt_at=from_epoch_us(int(row[3])),
        created_at=from_epoch_us(int(row[4])),
        done_at=None if row[5] is None else from_epoch_us(int(row[5])),
        outcome=row[6],
        last_error=row[7],
    )
