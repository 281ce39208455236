"""Keeping a run's word on time: its phases, their plan, and how fit time grows with rows.

A time budget covers the whole run — reading, preparing, the competition, the winner's final
fit, compilation, packaging (the promotion decision and the smoke test) and registration. The
competition stops launching trials when what is left is what the phases after it need
(``finish_estimate``, from what the trials measured: their fit time, scaled to the final fit's
rows by the family's measured growth, their size and predict time). On large data trials
start on a subsample and the best climb to more rows (``rungs``, successive halving); the final
fit gets every row, or as many as its share of the budget allows.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from podium._internal.resources import usable_cores

__all__ = ["PHASES", "MIN_RUNG_ROWS", "ETA", "CHECK_ROWS", "SMOKE_ROWS", "DEFAULT_EXPONENT", "Finish",
           "PhaseClock", "holdout_rows", "rungs", "fit_exponent", "scaled_seconds", "threaded_seconds",
           "parallel_seconds", "finish_estimate", "affordable_rows"]

#: a run's phases, in order
PHASES = ("start", "read", "prepare", "competition", "final_fit", "compile", "package", "register")
#: train rows below which every trial sees them all; above, the first rung has at least this many
MIN_RUNG_ROWS = 25_000
#: each rung has ETA times the rows of the one below, and takes the best 1/ETA of its trials
ETA = 3
#: the compiled graph is checked against the pipeline on at most this many holdout rows
CHECK_ROWS = 10_000
#: the smoke test reloads the package in a fresh process and predicts this many holdout rows
SMOKE_ROWS = 2_000
#: fit time ∝ rows ** exponent, until a family measured its own
DEFAULT_EXPONENT = 1.1
_EXPONENT_RANGE = (0.7, 2.0)
# throughputs for the phases after the competition, measured on an idle 2-core machine (a model
# of 10 MB pickles in ~0.1 s and converts to ONNX in ~1 s; the smoke test's fresh process takes
# ~1.2 s, about 0.4 x a `podium run`'s own start); at load 13-15 a conversion took 3-8x its plan:
# finish_estimate scales it by the fresh process's time
_COMPILE_BYTES_PER_SECOND = 10e6
_SAVE_BYTES_PER_SECOND = 50e6
_FRESH_PROCESS_SECONDS = 1.2  # the smoke test's interpreter and imports, until this process measured its own
_FRESH_PROCESS_SHARE = 0.4  # of this process's start: the smoke test imports less than a run
_FIXED_SECONDS = 0.4  # registry writes, the manifest, the alias move


def holdout_rows(n_rows: int, fraction: float, max_rows: int | None) -> int:
    """Rows held out for selection: ``fraction`` of them, at most ``max_rows``.

    A 50,000-row holdout tells models apart within about 0.005 of accuracy; more rows only
    make every trial's scoring slower and leave fewer to train on."""
    n_test = int(round(n_rows * fraction))
    return n_test if max_rows is None else min(n_test, max_rows)


def rungs(n_train: int, *, min_rows: int = MIN_RUNG_ROWS, eta: int = ETA) -> tuple[int, ...]:
    """The train rows of each rung, smallest first; the last is every train row.

    ``rungs(300_000)`` is ``(33_333, 100_000, 300_000)``: trials start on a ninth of the rows and
    the best third of each rung is fitted again on three times as many. Small data is one rung.
    """
    sizes = [n_train]
    while sizes[-1] // eta >= min_rows:
        sizes.append(sizes[-1] // eta)
    return tuple(reversed(sizes))


def fit_exponent(points: Sequence[tuple[int, float]]) -> float:
    """How fit seconds grow with rows (the slope of log seconds on log rows) over measured
    ``(rows, seconds)`` points of one family; ``DEFAULT_EXPONENT`` until two row counts are known."""
    usable = [(math.log(r), math.log(s)) for r, s in points if r > 0 and s > 0.05]
    if len({x for x, _ in usable}) < 2:
        return DEFAULT_EXPONENT
    mean_x = sum(x for x, _ in usable) / len(usable)
    mean_y = sum(y for _, y in usable) / len(usable)
    slope = (sum((x - mean_x) * (y - mean_y) for x, y in usable)
             / sum((x - mean_x) ** 2 for x, _ in usable))
    return min(max(slope, _EXPONENT_RANGE[0]), _EXPONENT_RANGE[1])


def scaled_seconds(seconds: float, rows: int, to_rows: int, exponent: float = DEFAULT_EXPONENT) -> float:
    """Fit seconds measured on ``rows`` rows, scaled to ``to_rows``."""
    if rows <= 0 or to_rows == rows:
        return seconds
    return seconds * float((to_rows / rows) ** exponent)


def threaded_seconds(seconds: float, share: float, threads: int) -> float:
    """One-thread fit ``seconds`` on ``threads`` threads, when ``share`` of the fit runs on every
    thread it is given (Amdahl's law)."""
    return seconds * (1.0 - share + share / max(1, threads))


def parallel_seconds(seconds: Sequence[float], workers: int) -> float:
    """How long fits of these ``seconds`` take on ``workers`` threads, each next fit going to the
    first free one, longest first (Graham's LPT schedule: within 4/3 of the best)."""
    loads = [0.0] * max(1, workers)
    for s in sorted(seconds, reverse=True):
        loads[loads.index(min(loads))] += s
    return max(loads)


def affordable_rows(seconds: float, rows: int, available: float, exponent: float = DEFAULT_EXPONENT) -> int:
    """The most rows a fit measured at ``seconds`` on ``rows`` rows can take within ``available``."""
    if seconds <= 0 or available <= 0:
        return rows if available > 0 else 0
    return int(rows * (available / seconds) ** (1 / exponent))


@dataclass(frozen=True)
class Finish:
    """Planned seconds of the phases after the competition."""

    final_fit: float
    compile: float
    package: float
    register: float

    @property
    def total(self) -> float:
        return self.final_fit + self.compile + self.package + self.register

    @property
    def fixed(self) -> float:
        """Everything but the final fit: what no choice of rows makes shorter."""
        return self.compile + self.package + self.register


def finish_estimate(*, fit_seconds: float, size_bytes: int, predict_ms_per_1000: float,
                    holdout: int, fresh_process: float = _FRESH_PROCESS_SECONDS,
                    convert_bytes: float | None = None, engine_us: float | None = None) -> Finish:
    """The phases after the competition for a winner whose final fit takes ``fit_seconds``.

    Compile: conversion (grows with the model's size; slower as much as ``fresh_process`` is
    over an idle machine's; ``convert_bytes``: the size as skl2onnx's own converters would take
    as long over, default ``size_bytes``) and the graph checked beside the pipeline on up to ``CHECK_ROWS``
    holdout rows. Package: the promotion decision scores the holdout once (the champion's model,
    when there is one: the challenger's score is its trial's), the package is saved and
    reloaded in a fresh process (``SMOKE_ROWS``; its start-up takes ``fresh_process`` seconds),
    both on the compiled graph in one call on every core — ``engine_us`` µs a row on one core
    (the trials' estimate; None: a model that will not compile, scored at the pipeline's
    predict time). Register: saved again.
    """
    predict = predict_ms_per_1000 / 1000 / 1000  # seconds a row
    # a busier machine converts as much slower as its fresh process is slower (the trials'
    # predict times were measured under its load already)
    slowdown = max(1.0, fresh_process / _FRESH_PROCESS_SECONDS)
    converted = size_bytes if convert_bytes is None else convert_bytes
    compile_ = (0.3 + converted / _COMPILE_BYTES_PER_SECOND) * slowdown + 2 * predict * min(holdout, CHECK_ROWS)
    engine = predict if engine_us is None else engine_us / 1e6 * slowdown / usable_cores()  # s a row
    package = fresh_process + 2 * size_bytes / _SAVE_BYTES_PER_SECOND + engine * (holdout + SMOKE_ROWS)
    register = _FIXED_SECONDS + size_bytes / _SAVE_BYTES_PER_SECOND
    return Finish(final_fit=fit_seconds, compile=compile_, package=package, register=register)


@dataclass
class PhaseClock:
    """The planned and the actual seconds of each phase of one run, on one clock."""

    budget: float | None
    started: float = field(default_factory=time.time)
    planned: dict[str, float] = field(default_factory=dict)
    actual: dict[str, float] = field(default_factory=dict)
    #: this process's CPU seconds in each phase (not its workers'): wall over CPU is the load
    cpu: dict[str, float] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # from the process's start to the run's (the CLI's imports): the phase "start"
        self.actual["start"] = max(0.0, time.time() - self.started)
        self.cpu["start"] = time.process_time()  # the process's CPU since it started (an in-process caller's too)

    @property
    def fresh_process(self) -> float:
        """What starting a fresh podium process (the smoke test) takes here: about what this
        one's start took, on this machine under its present load."""
        return max(_FRESH_PROCESS_SECONDS, _FRESH_PROCESS_SHARE * self.actual["start"])

    @property
    def slowdown(self) -> float:
        """How much slower than its CPU time a process runs here now (the wall over the CPU of
        this one's start: 1 on an idle machine)."""
        cpu = self.cpu["start"]
        return max(1.0, self.actual["start"] / cpu) if cpu > 0.5 else 1.0

    @property
    def finish_by(self) -> float | None:
        """When the run must be done (None without a time budget)."""
        return None if self.budget is None else self.started + self.budget

    def left(self) -> float | None:
        """Seconds left of the budget (None without one)."""
        end = self.finish_by
        return None if end is None else end - time.time()

    def plan(self, phase: str, seconds: float) -> None:
        self.planned[phase] = max(0.0, seconds)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time the block as phase ``name`` (added to what the phase already took)."""
        start, cpu = time.time(), time.process_time()
        try:
            yield
        finally:
            self.actual[name] = self.actual.get(name, 0.0) + time.time() - start
            self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - cpu

    def to_json(self) -> dict[str, Any]:
        phases = {name: {"planned": _round(self.planned.get(name)), "actual": _round(self.actual.get(name)),
                         "cpu": _round(self.cpu.get(name))}
                  for name in PHASES if name in self.planned or name in self.actual}
        return {"budget_seconds": self.budget, "wall_seconds": round(time.time() - self.started, 2),
                "phases": phases, **self.notes}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
