"""``kleline worker``: deliver webhooks and run the periodic sweeps, in a loop or one pass at a time.

A pass sends every due delivery (batch after batch, since one delivered event can make the next event of the same
object due) and runs the sweeps whose time has come. The loop sleeps only when a pass found nothing to send, and
stops between passes on SIGINT or SIGTERM, letting the deliveries in flight finish (each is bounded by the webhook
timeout). Several workers may run at once: deliveries are claimed with a lease (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL) and every sweep tolerates a concurrent twin.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType

from kleline.bootstrap import Kleline
from kleline.events.delivery import DeliveryReport
from kleline.worker.sweeps import SWEEPS, Sweep

__all__ = ["PassReport", "Worker", "stop_on_signals"]

log = logging.getLogger(__name__)

MAX_BATCHES_PER_PASS = 20
"""A pass stops after this many batches, so that sweeps and a stop request are never starved by a backlog."""


@dataclass(frozen=True)
class PassReport:
    """What one pass did: deliveries, each sweep's count, and the sweeps that raised."""

    deliveries: DeliveryReport = DeliveryReport()
    sweeps: dict[str, int] = field(default_factory=dict)
    errors: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line for a person: ``deliveries: 3 attempted, 2 delivered, ...; ledger.expire_holds: 0``."""
        d = self.deliveries
        parts = [
            f"deliveries: {d.attempted} attempted, {d.delivered} delivered, {d.retrying} to retry, "
            f"{d.failed} given up, {d.disabled} endpoint(s) disabled"
        ]
        parts += [f"{name}: {count}" for name, count in self.sweeps.items()]
        parts += [f"{name}: FAILED (see the log)" for name in self.errors]
        return "; ".join(parts)


class Worker:
    """Runs deliveries and sweeps over one Kleline."""

    def __init__(
        self,
        kleline: Kleline,
        *,
        sweeps: Sequence[Sweep] = SWEEPS,
        interval: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.kleline = kleline
        self.sweeps = tuple(sweeps)
        self.interval = interval
        self._monotonic = monotonic
        self._last_run: dict[str, float] = {}

    def run_once(self, *, every_sweep: bool = True) -> PassReport:
        """One pass: every due delivery, then the sweeps (all of them, or only those whose pause has elapsed)."""
        deliveries = DeliveryReport()
        for _ in range(MAX_BATCHES_PER_PASS):
            batch = self.kleline.webhooks.deliver_due()
            deliveries += batch
            if batch.attempted == 0:
                break
        counts: dict[str, int] = {}
        errors: list[str] = []
        for sweep in self.sweeps:
            now = self._monotonic()
            last = self._last_run.get(sweep.name)
            if not every_sweep and last is not None and now - last < sweep.every:
                continue
            self._last_run[sweep.name] = now
            try:
                counts[sweep.name] = sweep.run(self.kleline)
            except Exception:
                log.exception("sweep %s failed", sweep.name)
                errors.append(sweep.name)
                continue
            if counts[sweep.name]:
                log.info("sweep %s: %d", sweep.name, counts[sweep.name])
        return PassReport(deliveries, counts, tuple(errors))

    def run(self, stop: threading.Event) -> None:
        """Pass after pass until ``stop`` is set; pause ``interval`` seconds when there was nothing to send."""
        log.info("worker started: %d sweep(s), interval %g s", len(self.sweeps), self.interval)
        while not stop.is_set():
            try:
                report = self.run_once(every_sweep=False)
            except Exception:
                # The database may be briefly unreachable: log, pause, and try again rather than die.
                log.exception("worker pass failed")
                stop.wait(self.interval)
                continue
            if report.deliveries.attempted == 0:
                stop.wait(self.interval)
        log.info("worker stopped")


def stop_on_signals(stop: threading.Event) -> None:
    """Set ``stop`` on SIGINT or SIGTERM (call from the main thread), so that the loop ends between passes."""

    def _handler(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s: stopping after this pass", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, _handler)
    signal.signal(signal.SIGTERM, _handler)
