"""Where a round's CPU went: the server's workers, the database's backends, the load generator, the machine.

Counted from Linux's ``/proc`` (zeros elsewhere) around each round, so that a figure can be explained: a rate is
capped by the cores, and these say who spent them. The machine's share includes whatever else runs on it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg

from bench.common import PHASES
from bench.http_load import Plan, RoundResult, run_round

__all__ = ["Database", "Measured", "busy_share", "children_of", "cpu_of", "database", "measure"]


@dataclass
class Measured:
    """One round of one workload, with the CPU spent in it by the server workers, the database and the machine."""

    result: RoundResult
    server_cpu: list[float]  # seconds, per worker
    database_cpu: float  # seconds, the database's backends alive at the end of the round
    sessions: int  # database connections opened during the round
    machine_busy: float  # share of all cores
    elapsed: float  # seconds over which the CPU was counted: the window and its last answers

    @property
    def rate(self) -> float:
        return self.result.completed / self.result.window

    def per_operation(self, cpu: float) -> float:
        """``cpu`` seconds spread over the operations of the counted time, in microseconds."""
        done = self.rate * self.elapsed
        return 1e6 * cpu / done if done else 0.0

    def latency(self, quantile: float) -> float:
        """A latency quantile of the round, in microseconds."""
        ordered = sorted(self.result.latencies)
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, int(quantile * len(ordered)))] * 1e6


def cpu_of(pid: int) -> float:
    """CPU seconds a process has used so far; 0 where there is no ``/proc`` (or no such process)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_of(pid: int, marker: bytes = b"") -> list[int]:
    """The direct children of a process whose command line holds ``marker``; empty where there is no ``/proc``."""
    found = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    command = cmdline.read()
            except (OSError, ValueError, IndexError):
                continue
            if parent == pid and marker in command:
                found.append(int(entry))
    return sorted(found)


def machine() -> tuple[float, float]:
    """(busy, total) CPU time of the machine so far, in ticks; zeros where there is no ``/proc/stat``."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(v) for v in stat.readline().split()[1:]]
    except OSError:
        return 0.0, 0.0
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    return float(sum(ticks) - idle), float(sum(ticks))


def busy_share(seconds: float) -> float:
    """How busy the machine is, over ``seconds`` from now (0 to 1)."""
    busy0, total0 = machine()
    time.sleep(seconds)
    busy1, total1 = machine()
    return (busy1 - busy0) / (total1 - total0) if total1 > total0 else 0.0


@dataclass(frozen=True)
class Database:
    """The database's side: its backend processes now, and how many sessions it has had."""

    backends: list[int]
    sessions: int


def database(admin_url: str, name: str) -> Database:
    """The PostgreSQL server processes serving ``name`` (the workers' pooled connections), and its sessions."""
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute("SELECT pg_stat_clear_snapshot()")
        rows = connection.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,)).fetchall()
        sessions = connection.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", (name,)).fetchone()
    return Database([int(row[0]) for row in rows], int(sessions[0]) if sessions else 0)


@dataclass
class _Usage:
    """Counters at one instant: the server workers' CPU, the database backends' CPU and sessions, the machine's
    (busy, total)."""

    at: float = 0.0
    workers: tuple[float, ...] = ()
    backends: dict[int, float] = field(default_factory=dict)
    sessions: int = 0
    machine: tuple[float, float] = (0.0, 0.0)

    @classmethod
    def now(cls, workers: list[int], side: Callable[[], Database]) -> _Usage:
        found = side()
        serving = {pid: cpu_of(pid) for pid in found.backends}
        return cls(time.perf_counter(), tuple(cpu_of(pid) for pid in workers), serving, found.sessions, machine())


def measure(plan: Plan, workers: list[int], side: Callable[[], Database]) -> Measured:
    """One round, with the CPU spent from the go to the last answer (so a little more than the window).

    ``workers`` are the server's processes; ``side`` tells the database's backends and sessions when called. A
    backend that opens and closes within the round is counted in ``sessions``, not in ``database_cpu``.
    """
    before = _Usage()

    def snapshot() -> None:
        nonlocal before
        before = _Usage.now(workers, side)

    result = run_round(plan, snapshot)
    after = _Usage.now(workers, side)
    PHASES.add(after.at - before.at)
    busy = after.machine[0] - before.machine[0]
    total = after.machine[1] - before.machine[1]
    return Measured(
        result,
        [cpu1 - cpu0 for cpu0, cpu1 in zip(before.workers, after.workers, strict=True)],
        sum(cpu - before.backends.get(pid, 0.0) for pid, cpu in after.backends.items()),
        after.sessions - before.sessions,
        busy / total if total > 0 else 0.0,
        after.at - before.at,
    )
