"""Where trials run: a local process pool, inline in this process, or a Ray cluster.

They differ only in how they are built. Each receives the ``Problem`` once (a worker
keeps it) and then runs trials; ``close(kill=True)`` abandons trials past the budget.
"""

from __future__ import annotations

import multiprocessing
import os
from abc import ABC, abstractmethod
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from podium._internal.lazy import require
from podium._internal.named import Named
from podium._internal.orphans import exit_with_parent
from podium.errors import NotFoundError
from podium.training.leaderboard import Trial, TrialResult
from podium.training.problem import ForecastProblem, Problem
from podium.training.trial import run_trial

__all__ = ["Executor", "LocalExecutor", "InlineExecutor", "RayExecutor", "executor_kinds", "make_executor"]


class Executor(ABC):
    n_jobs: int = 1

    @abstractmethod
    def start(self, problem: Problem | ForecastProblem) -> None: ...

    @abstractmethod
    def submit(self, trial: Trial, deadline: float | None) -> Future[TrialResult]: ...

    @abstractmethod
    def close(self, *, kill: bool = False) -> None: ...


class InlineExecutor(Executor):
    """Runs each trial at submit time, in this process: for tests and debugging."""

    def start(self, problem: Problem | ForecastProblem) -> None:
        self._problem = problem

    def submit(self, trial: Trial, deadline: float | None) -> Future[TrialResult]:
        future: Future[TrialResult] = Future()
        future.set_result(run_trial(self._problem, trial, deadline))
        return future

    def close(self, *, kill: bool = False) -> None:
        pass


_worker_problem: Problem | ForecastProblem | None = None


def _init_worker(problem: Problem | ForecastProblem, parent_pid: int) -> None:
    global _worker_problem
    exit_with_parent(parent_pid)  # a killed `podium run` or `watch` leaves no worker behind
    _worker_problem = problem
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)  # one trial a core: nested threads would fight over the cores


def _run_in_worker(trial: Trial, deadline: float | None) -> TrialResult:
    assert _worker_problem is not None
    return run_trial(_worker_problem, trial, deadline)


class LocalExecutor(Executor):
    """A pool of ``n_jobs`` processes on this machine.

    Workers are forked: they start at once with the libraries already imported and the
    data shared copy-on-write, and a caller's script needs no ``__main__`` guard. They end
    when this process ends, even by SIGKILL (``exit_with_parent``).
    """

    def __init__(self, n_jobs: int = 0) -> None:
        self.n_jobs = n_jobs if n_jobs > 0 else max(1, os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None

    def start(self, problem: Problem | ForecastProblem) -> None:
        context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
        self._pool = ProcessPoolExecutor(self.n_jobs, mp_context=context,
                                         initializer=_init_worker, initargs=(problem, os.getpid()))

    def submit(self, trial: Trial, deadline: float | None) -> Future[TrialResult]:
        assert self._pool is not None, "start() first"
        return self._pool.submit(_run_in_worker, trial, deadline)

    def close(self, *, kill: bool = False) -> None:
        if self._pool is None:
            return
        if kill:  # trials past the budget: end their processes rather than wait for them
            for process in list(getattr(self._pool, "_processes", {}).values()):
                process.terminate()
        self._pool.shutdown(wait=not kill, cancel_futures=True)
        self._pool = None


class RayExecutor(Executor):
    """Trials as Ray tasks: the same competition on a Ray cluster (``ray.init(address=...)``)."""

    def __init__(self, n_jobs: int = 0, address: str | None = None) -> None:
        self.n_jobs = n_jobs if n_jobs > 0 else max(1, os.cpu_count() or 1)
        self.address = address
        self._refs: list[Any] = []

    def start(self, problem: Problem | ForecastProblem) -> None:
        self._ray = require("ray", package="ray")
        if not self._ray.is_initialized():
            self._ray.init(address=self.address, ignore_reinit_error=True, include_dashboard=False)
        self._problem_ref = self._ray.put(problem)
        self._remote = self._ray.remote(num_cpus=1)(run_trial)

    def submit(self, trial: Trial, deadline: float | None) -> Future[TrialResult]:
        ref = self._remote.remote(self._problem_ref, trial, deadline)
        self._refs.append(ref)
        future: Future[TrialResult] = ref.future()
        return future

    def close(self, *, kill: bool = False) -> None:
        if kill:
            for ref in self._refs:
                self._ray.cancel(ref, force=True)
        self._refs.clear()


executor_kinds: Named[type[Executor]] = Named("executor", error=NotFoundError)
executor_kinds.register("local", LocalExecutor)
executor_kinds.register("inline", InlineExecutor)
executor_kinds.register("ray", RayExecutor)


def make_executor(kind: str, n_jobs: int = 0) -> Executor:
    cls = executor_kinds.get(kind)
    return cls() if cls is InlineExecutor else cls(n_jobs)  # type: ignore[call-arg]
