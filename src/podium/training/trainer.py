"""The competition: candidates train in parallel under one budget; the best one wins.

``compete`` fans trials out to an executor, records every result (a failing or overrunning
trial is recorded with its error and the rest go on), and keeps time for the winner's
final fit. ``fit_final`` refits the winner on every row for the package.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from podium.candidates import Candidate, candidate_registry
from podium.candidates.device import Device
from podium.errors import SpecError
from podium.spec import BudgetSpec, ConstraintsSpec
from podium.training.ensemble import ENSEMBLE, ensemble_estimator, select_ensemble
from podium.training.executors import Executor
from podium.training.leaderboard import Leaderboard, Trial, TrialResult
from podium.training.planner import Planner
from podium.training.forecasting import fit_final_forecast, select_forecast_ensemble
from podium.training.problem import ForecastProblem, Problem, make_pipeline

__all__ = ["TrainerEvent", "compete", "fit_final", "select_candidates"]


@dataclass(frozen=True)
class TrainerEvent:
    """What the competition reports as it goes (the CLI draws progress from these)."""

    kind: Literal["started", "finished"]
    trial: Trial
    result: TrialResult | None
    best: TrialResult | None
    elapsed: float
    budget: BudgetSpec


def select_candidates(names: list[str] | str, task: str, n_rows: int) -> tuple[list[Candidate], list[str]]:
    """The families that can compete on this task and size, and notes on those left out."""
    notes: list[str] = []
    if names == "all":
        chosen = [c for _, c in candidate_registry.items() if c.supports(task)]
    else:
        chosen = [candidate_registry.get(n) for n in names]
        unsupported = [c.name for c in chosen if not c.supports(task)]
        if unsupported and len(unsupported) == len(chosen):
            raise SpecError(f"None of the candidates supports a {task} task: {', '.join(unsupported)}.")
        for name in unsupported:
            notes.append(f"skipped '{name}': it does not support {task} tasks")
        chosen = [c for c in chosen if c.supports(task)]
    if task == "forecast":  # a forecaster reads series: every one that supports the task competes
        return chosen, notes
    table = [c for c in chosen if c.tags.input == "table"]
    kept = []
    for c in table:
        if c.tags.max_rows is not None and n_rows > c.tags.max_rows and names == "all":
            notes.append(f"skipped '{c.name}': slow above {c.tags.max_rows:,} rows")
        else:
            kept.append(c)
    return kept, notes


def compete(
    problem: Problem | ForecastProblem,
    candidates: list[Candidate],
    *,
    budget: BudgetSpec,
    executor: Executor,
    seed: int = 42,
    constraints: ConstraintsSpec | None = None,
    on_event: Callable[[TrainerEvent], None] | None = None,
    ensemble: bool = True,
    device: Device = "cpu",
) -> Leaderboard:
    """Run trials until the budget is spent; return the leaderboard of every trial,
    plus a weighted ensemble of the best ones when it scores better than each alone."""
    start = time.time()
    deadline = start + budget.seconds if budget.seconds else None
    grace = 1.0 + 0.02 * budget.seconds if budget.seconds else 0.0  # then running trials are stopped
    member_cap = 0.15 * budget.seconds if budget.seconds else None  # ensemble members' fit time
    planner = Planner(candidates, seed=seed, adaptive=budget.trials is None, device=device)
    results: list[TrialResult] = []
    running: dict[Future[TrialResult], Trial] = {}
    launched = 0
    exhausted = False

    def emit(kind: Literal["started", "finished"], trial: Trial, result: TrialResult | None) -> None:
        if on_event is not None:
            best = Leaderboard(results, problem.metric.name).best
            on_event(TrainerEvent(kind, trial, result, best, time.time() - start, budget))

    def may_launch() -> bool:
        if exhausted or (budget.trials is not None and launched >= budget.trials):
            return False
        if deadline is None:
            return True
        # keep time for the final fit of the best few (an ensemble's members)
        top = [r for r in Leaderboard(results, problem.metric.name).results[:5]
               if r.status == "ok" and (member_cap is None or r.fit_seconds <= member_cap)]
        reserve = min(0.4 * (budget.seconds or 0.0),  # + packaging and the smoke test
                      3.0 + 1.5 * sum(r.fit_seconds for r in top))
        return time.time() < deadline - reserve

    executor.start(problem)
    try:
        while True:
            while len(running) < executor.n_jobs and may_launch():
                trial = planner.next(results)
                if trial is None:
                    exhausted = True
                    break
                running[executor.submit(trial, _trial_deadline(deadline, budget))] = trial
                launched += 1
                emit("started", trial, None)
            if not running:
                break
            timeout = None if deadline is None else max(0.0, deadline + grace - time.time())
            done, _ = wait(running, timeout=timeout, return_when=FIRST_COMPLETED)
            if not done:  # past the budget and its grace: abandon what still runs
                for trial in running.values():
                    results.append(TrialResult(trial, "timeout", error="stopped at the end of the time budget"))
                    emit("finished", trial, results[-1])
                running.clear()
                executor.close(kill=True)
                break
            broken = False
            for future in done:
                trial = running.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool:
                    broken = True
                    result = TrialResult(trial, "failed", error="its worker process died (out of memory?)")
                except Exception as exc:  # an executor failure, not the candidate's
                    result = TrialResult(trial, "failed", error=f"{type(exc).__name__}: {exc}"[:300])
                results.append(_apply_constraints(result, constraints))
                emit("finished", trial, results[-1])
            if broken:
                for trial in running.values():  # the whole pool is broken: start a fresh one
                    results.append(TrialResult(trial, "failed", error="its worker pool broke"))
                running.clear()
                executor.close(kill=True)
                executor.start(problem)
    finally:
        executor.close(kill=bool(running))
    reproducible = budget.trials is not None and budget.seconds is None
    board = Leaderboard(results, problem.metric.name, reproducible=reproducible)
    if ensemble:
        if isinstance(problem, ForecastProblem):
            combined = select_forecast_ensemble(problem, board.results, next_id=len(results),
                                                max_member_seconds=member_cap)
        else:
            combined = select_ensemble(problem, board.results, next_id=len(results), max_member_seconds=member_cap)
        if combined is not None:
            board = Leaderboard([*results, _apply_constraints(combined, constraints)], problem.metric.name,
                                reproducible=reproducible)
    return board


def _trial_deadline(deadline: float | None, budget: BudgetSpec) -> float | None:
    """No single trial may take more than a third of the budget."""
    if deadline is None or budget.seconds is None:
        return deadline
    return min(deadline, time.time() + max(5.0, budget.seconds / 3))


def _apply_constraints(result: TrialResult, constraints: ConstraintsSpec | None) -> TrialResult:
    if result.status != "ok" or constraints is None:
        return result
    per_row = (result.predict_ms_per_1000 or 0.0) / 1000
    if constraints.max_predict_ms is not None and per_row > constraints.max_predict_ms:
        result.status = "excluded"
        result.error = f"predicts in {per_row:.3f} ms a row, over max_predict_ms {constraints.max_predict_ms}"
    size_mb = (result.size_bytes or 0) / 1e6
    if constraints.max_model_mb is not None and size_mb > constraints.max_model_mb:
        result.status = "excluded"
        result.error = f"is {size_mb:.1f} MB, over max_model_mb {constraints.max_model_mb}"
    if constraints.compiled and not result.compiled:
        result.status = "excluded"
        result.error = f"does not compile ({result.compile_blocker or 'no ONNX converter'}), and compiled is required"
    return result


def fit_final(problem: Problem | ForecastProblem, winner: Trial, board: Leaderboard, *, refit_all: bool) -> Any:
    """The winner's pipeline (or ensemble) fitted on train + test (or train only) for the package;
    for a forecast, its forecaster fitted on every point of every series (or the train part)."""
    if isinstance(problem, ForecastProblem):
        return fit_final_forecast(problem, winner, board, refit_all=refit_all)
    if winner.candidate == ENSEMBLE:
        trials = {r.trial.id: r.trial for r in board.results}
        members = [trials[i] for i in winner.params["members"]]
        pipeline = ensemble_estimator(
            problem, [(t, make_pipeline(problem, candidate_registry.get(t.candidate), t.params, t.seed))
                      for t in members], winner.params["weights"])
    else:
        candidate = candidate_registry.get(winner.candidate)
        pipeline = make_pipeline(problem, candidate, winner.params, winner.seed)
    if refit_all:
        X: Any = pd.concat([problem.X_train, problem.X_test])
        y: Any = pd.concat([problem.y_train, problem.y_test])
    else:
        X, y = problem.X_train, problem.y_train
    return pipeline.fit(X, y)
