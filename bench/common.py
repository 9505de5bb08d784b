"""What every benchmark shares: rounds, medians, client processes, and the closing target lines."""

from __future__ import annotations

import math
import multiprocessing
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

ROUNDS = 5


class Phases:
    """Seconds spent inside measured rounds, added by the rounds themselves, so that ``python -m bench`` can tell each
    bench's measured time from the rest (set-up, start-ups, warm-ups): only the rest may be made shorter."""

    def __init__(self) -> None:
        self.measured = 0.0

    def add(self, seconds: float) -> None:
        self.measured += seconds

    @contextmanager
    def measuring(self) -> Iterator[None]:
        """Count the block's wall time as measured."""
        began = time.perf_counter()
        try:
            yield
        finally:
            self.add(time.perf_counter() - began)


PHASES = Phases()


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


@dataclass(frozen=True)
class Slowdown:
    """A goal on how many times slower than its reference a figure may be (a time over a time): at most ``goal``."""

    name: str
    ratio: float
    goal: float

    def line(self) -> str:
        verdict = "met" if self.ratio <= self.goal else "missed"
        # Shown rounded up, so that a ratio just over its goal never reads as equal to it.
        shown = math.ceil(self.ratio * 100) / 100
        return f"target {self.name}: {shown:.2f}x (goal {self.goal:g}x) {verdict}"


@dataclass
class Report:
    """Figures printed as they come, targets printed last."""

    targets: list[Target | Ceiling | Slowdown] = field(default_factory=list)

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


class Clients:
    """Client processes started once and reused by every measurement of a bench.

    Each process keeps the step it built for each kind of work (its connection, its warm caches), as a long-running
    worker does, so that a measurement costs no interpreter start-up: the clock starts once every client said it is
    ready (connected and warmed up), not after a guessed pause.
    """

    def __init__(self, count: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipes: list[Any] = []
        self._processes: list[Any] = []
        for index in range(count):
            ours, theirs = context.Pipe()
            process = context.Process(target=_serve, args=(theirs, index), daemon=True)
            process.start()
            self._pipes.append(ours)
            self._processes.append(process)

    def rate(self, work: Callable[..., Any], args: tuple[Any, ...], clients: int, seconds: float) -> float:
        """Operations per second of ``clients`` of the processes, each calling ``work(index, *args)``'s step in a
        loop for ``seconds``."""
        pipes = self._pipes[:clients]
        for pipe in pipes:
            pipe.send((work, args, seconds))
        for pipe in pipes:
            _receive(pipe, 300)  # ready
        with PHASES.measuring():
            for pipe in pipes:
                pipe.send("go")
            done = sum(int(_receive(pipe, seconds + 120)) for pipe in pipes)
        return done / seconds

    def close(self) -> None:
        for pipe in self._pipes:
            pipe.send(None)
        for process in self._processes:
            process.join(timeout=30)

    def __enter__(self) -> Clients:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _receive(pipe: Any, timeout: float) -> Any:
    if not pipe.poll(timeout):
        raise RuntimeError(f"a bench client did not answer within {timeout:.0f} s")
    return pipe.recv()


def _serve(pipe: Any, index: int) -> None:
    """A client process: for each task, build (once) the step of ``work(index, *args)``, say ready, wait for go, then
    call the step until ``seconds`` have passed and send how many operations it did."""
    steps: dict[tuple[Any, ...], Callable[[], int]] = {}
    while (task := pipe.recv()) is not None:
        work, args, seconds = task
        step = steps.get((work, *args))
        if step is None:
            step = steps[(work, *args)] = work(index, *args)
        pipe.send("ready")
        pipe.recv()  # go
        done = 0
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            done += step()
        pipe.send(done)
