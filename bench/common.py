"""What every benchmark shares: rounds, medians, client processes, and the closing target lines."""

from __future__ import annotations

import math
import multiprocessing
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ROUNDS = 5


@dataclass(frozen=True)
class Target:
    """A goal: ``ratio`` of a measured figure to its reference must reach ``goal``."""

    name: str
    ratio: float
    goal: float

    def line(self) -> str:
        verdict = "met" if self.ratio >= self.goal else "missed"
        # Shown rounded down, so that a ratio just under its goal never reads as equal to it.
        shown = math.floor(self.ratio * 100) / 100
        return f"target {self.name}: {shown:.2f}x (goal {self.goal:g}x) {verdict}"


@dataclass(frozen=True)
class Ceiling:
    """A goal on a figure that must stay under a bound (a latency)."""

    name: str
    value: float
    goal: float
    unit: str

    def line(self) -> str:
        verdict = "met" if self.value < self.goal else "missed"
        return f"target {self.name}: {self.value:,.0f} {self.unit} (goal under {self.goal:g} {self.unit}) {verdict}"


@dataclass
class Report:
    """Figures printed as they come, targets printed last."""

    targets: list[Target | Ceiling] = field(default_factory=list)

    def figure(self, name: str, rounds: list[float], unit: str) -> float:
        value = statistics.median(rounds)
        spread = ", ".join(f"{r:,.0f}" for r in rounds)
        print(f"  {name:<58} {value:>12,.0f} {unit}   (rounds: {spread})", flush=True)
        return value

    def ratio(self, name: str, ours: float, reference: float, goal: float | None = None) -> float:
        value = ours / reference if reference else 0.0
        print(f"  {'ratio ' + name:<58} {value:>12.2f}x", flush=True)
        if goal is not None:
            self.targets.append(Target(name, value, goal))
        return value


def section(title: str) -> None:
    print(f"\n== {title}", flush=True)


def _client(
    work: Callable[..., Any], args: tuple[Any, ...], start: Any, seconds: float, results: Any, index: int
) -> None:
    """Run ``work(index, *args)``: it returns a step function; call it until ``seconds`` have passed after start."""
    step = work(index, *args)
    start.wait()
    done = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        done += step()
    results.put(done)


def run_clients(work: Callable[..., Any], args: tuple[Any, ...], clients: int, seconds: float) -> float:
    """Operations per second of ``clients`` processes, each running ``work``'s step in a loop for ``seconds``."""
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    results = context.Queue()
    processes = [context.Process(target=_client, args=(work, args, start, seconds, results, i)) for i in range(clients)]
    for process in processes:
        process.start()
    time.sleep(0.5 + 0.3 * clients)  # let every client connect and warm up before the clock starts
    start.set()
    total = sum(results.get(timeout=seconds + 120) for _ in processes)
    for process in processes:
        process.join()
    return total / seconds
