"""The competition: candidates train in parallel under one budget; the best one wins.

``compete`` fans trials out to an executor, records every result (a failing or overrunning
trial is recorded with its error and the rest go on), and keeps time for the phases after
it (``podium.training.budget``); on large data trials climb rungs of rows
(``podium.training.halving``). ``plan_finish`` plans those phases from what the trials
measured; ``fit_final`` refits the winner on every row (or as many as the plan allows).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from typing import Any, Literal

import pandas as pd
from joblib import parallel_config
from threadpoolctl import threadpool_limits

from podium._internal.process import release_memory
from podium._internal.resources import usable_cores
from podium.candidates import Candidate, Tags, candidate_registry, fit_deadline
from podium.candidates.device import Device
from podium.errors import SpecError
from podium.spec import BudgetSpec, ConstraintsSpec
from podium.training.budget import (
    DEFAULT_EXPONENT,
    Finish,
    PhaseClock,
    affordable_rows,
    finish_estimate,
    fit_exponent,
    parallel_seconds,
    rungs,
    scaled_seconds,
    threaded_seconds,
)
from podium.training.compile import unconvertible_part
from podium.training.ensemble import ENSEMBLE, cost_limit, ensemble_estimator, select_ensemble
from podium.training.executors import Executor
from podium.training.halving import Ladder
from podium.training.leaderboard import Leaderboard, Trial, TrialResult
from podium.training.planner import Planner
from podium.training.forecasting import fit_final_forecast, select_forecast_ensemble
from podium.training.problem import ForecastProblem, Problem, make_pipeline

__all__ = ["TrainerEvent", "FinalPlan", "compete", "final_workers", "fit_final", "plan_finish", "select_candidates"]


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
    clock: PhaseClock | None = None,
    refit: bool = True,
) -> Leaderboard:
    """Run trials until the budget is spent; return the leaderboard of every trial,
    plus a weighted ensemble of the best ones when it scores better than each alone.

    With a time budget and the run's ``clock`` the budget covers the whole run: trials stop
    launching when what is left is what the winner's final fit (on every row with ``refit``),
    compilation, packaging and registration need, as the trials measured them. Without a clock
    it covers the competition alone. On large data trials climb rungs of rows (``Ladder``)."""
    start = time.time()
    keep_for_finish = clock is not None
    clock = clock or PhaseClock(budget.seconds, start)
    finish_by = clock.finish_by if budget.seconds is not None else None
    span = max(0.0, finish_by - start) if finish_by is not None else 0.0
    grace = 1.0 + 0.02 * span  # then running trials are stopped
    first_cap = _trial_cap(budget.seconds or 0.0)  # the first trials' time, however little is left
    n_train, _ = _split_rows(problem)
    limits = constraints or ConstraintsSpec()
    max_us, ceiling = limits.max_ensemble_us, limits.max_serving_us
    timing = _Timing(problem, final_rows=problem.n_rows if refit else n_train, span=span,
                     fresh_process=clock.fresh_process, workers=final_workers(executor), max_us=max_us,
                     ceiling=ceiling, slowdown=clock.slowdown)
    subsample = (finish_by is not None and budget.trials is None and isinstance(problem, Problem)
                 and not problem.cv_folds)
    ladder = Ladder(rungs(n_train) if subsample else (n_train,))
    planner = Planner(candidates, seed=seed, adaptive=budget.trials is None, device=device)
    results: list[TrialResult] = []
    running: dict[Future[TrialResult], Trial] = {}
    launched = 0
    exhausted = False
    first_round: dict[int, float] = {}  # the first trial of each worker: its deadline

    def emit(kind: Literal["started", "finished"], trial: Trial, result: TrialResult | None) -> None:
        if on_event is not None:
            best = Leaderboard(results, problem.metric.name).best
            on_event(TrainerEvent(kind, trial, result, best, time.time() - start, budget))

    def ends() -> float | None:
        """When the competition must end: the finish phases' reserve before the run's end."""
        if finish_by is None:
            return None
        return finish_by - timing.reserve(results) if keep_for_finish else finish_by

    def may_launch() -> bool:
        if exhausted or (budget.trials is not None and launched >= budget.trials):
            return False
        end = ends()
        # the first round (a trial a worker) runs whatever is left: a model late is better than none
        return end is None or time.time() < end or launched < executor.n_jobs

    def fits(result: TrialResult, rows: int) -> bool:
        end = ends()
        return end is None or time.time() + timing.trial_seconds(result, rows, results) < min(
            end, time.time() + _trial_cap(span))

    def next_trial() -> Trial | None:
        promoted = ladder.promotion(results, launched, fits) if ladder.subsampled else None
        if promoted is not None:
            return promoted
        fresh = planner.next(results)
        end = ends()
        # near the end, a configuration of a family measured slower than what is left would be stopped
        # unfinished (a forest cannot stop early): draw another (a few times, then launch it anyway)
        for _ in range(2 * len(candidates)):
            if fresh is None or end is None or launched < executor.n_jobs or not _too_slow(
                    ladder.first(fresh), results, min(end - time.time(), _trial_cap(span)), timing):
                break
            fresh = planner.next(results)
        return None if fresh is None else replace(ladder.first(fresh), id=launched, keep_model=ladder.subsampled)

    release_memory()  # what preparing the data freed goes back before the workers fork
    executor.start(problem)
    try:
        while True:
            while len(running) < executor.n_jobs and may_launch():
                trial = next_trial()
                if trial is None:
                    exhausted = True
                    break
                deadline = _trial_deadline(ends(), span, timing.scoring_seconds(trial, results, grace))
                if deadline is not None and launched < executor.n_jobs:
                    deadline = max(deadline, time.time() + first_cap)
                    first_round[trial.id] = deadline
                running[executor.submit(trial, deadline)] = trial
                launched += 1
                emit("started", trial, None)
            if not running:
                break
            end = ends()
            if end is not None:
                # the first round (one trial a worker, however late) may reach its deadline, then score the
                # holdout and measure its model (half its time again: seconds under load)
                waiting = [first_round[t.id] + 0.5 * first_cap for t in running.values() if t.id in first_round]
                end = max([end, *waiting])
            timeout = None if end is None else max(0.0, end + grace - time.time())
            done, _ = wait(running, timeout=timeout, return_when=FIRST_COMPLETED)
            if not done:  # past the competition's end and its grace: abandon what still runs
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
                results.append(_apply_constraints(_judge_compiled(result), constraints))
                emit("finished", trial, results[-1])
            _keep_best_models(results)
            if broken:
                for trial in running.values():  # the whole pool is broken: start a fresh one
                    results.append(TrialResult(trial, "failed", error="its worker pool broke"))
                running.clear()
                executor.close(kill=True)
                executor.start(problem)
    finally:
        executor.close(kill=bool(running))
    clock.plan("competition", time.time() - start if finish_by is None else (ends() or start) - start)
    clock.notes["rungs"] = list(ladder.sizes)
    reproducible = budget.trials is not None and budget.seconds is None
    board = Leaderboard(results, problem.metric.name, reproducible=reproducible)
    if ensemble:
        if isinstance(problem, ForecastProblem):
            combined = select_forecast_ensemble(problem, board.results, next_id=len(results),
                                                max_member_seconds=0.15 * span if finish_by is not None else None)
        else:
            combined = _ensemble(problem, board, timing, finish_by, next_id=len(results), max_us=max_us,
                                 ceiling=ceiling, notes=clock.notes)
        if combined is not None:
            board = Leaderboard([*results, _apply_constraints(combined, constraints)], problem.metric.name,
                                reproducible=reproducible)
    return board


def _ensemble(problem: Problem, board: Leaderboard, timing: _Timing, finish_by: float | None, *,
              next_id: int, max_us: float | None, ceiling: float | None,
              notes: dict[str, Any]) -> TrialResult | None:
    """The greedy ensemble of the trials fitted on the most rows, when its members' final fits
    (each under a member cap, all together within what is left) fit in the budget, and its
    estimated serving cost within ``max_us`` (µs a row). One left out for time says so in ``notes``."""
    ok = [r for r in board.results if r.status == "ok"]
    if not ok:
        return None
    top_rows = max(r.rows or 0 for r in ok)
    pool = [r for r in board.results if r.status != "ok" or (r.rows or 0) == top_rows]
    if finish_by is None:
        return select_ensemble(problem, pool, next_id=next_id, max_us=max_us, ceiling=ceiling)
    cap = 0.15 * timing.span
    final = {r.trial.id: timing.final_fit_seconds(r, board.results) for r in ok}
    usable = [r for r in pool if r.status != "ok" or final[r.trial.id] <= cap]
    combined = select_ensemble(problem, usable, next_id=next_id, max_us=max_us, ceiling=ceiling)
    if combined is None:
        return None
    members = [m for m in ok if m.trial.id in combined.trial.params["members"]]
    finish = timing.finish(members, timing.members_seconds([final[m.trial.id] for m in members]))
    left = finish_by - time.time()
    if finish.total <= left:
        return combined
    notes["ensemble"] = (f"left out: its final fit, compilation and packaging would take {finish.total:.1f} s, "
                         f"{max(0.0, left):.1f} s were left")
    return None


def _split_rows(problem: Problem | ForecastProblem) -> tuple[int, int]:
    """Rows of the train split and of the holdout (a forecast's points)."""
    if isinstance(problem, ForecastProblem):
        return len(problem.train), len(problem.test)
    return len(problem.X_train), len(problem.X_test)


def final_workers(executor: Executor) -> int:
    """Threads that fit an ensemble's members at once at the end: the competition's workers,
    at most this machine's cores (their fit times were measured that many at a time)."""
    return max(1, min(executor.n_jobs, usable_cores()))


class _Timing:
    """What the trials measured, turned into the seconds a fit or the run's end will take."""

    def __init__(self, problem: Problem | ForecastProblem, *, final_rows: int, span: float,
                 fresh_process: float, workers: int = 1, max_us: float | None = None, ceiling: float | None = None,
                 slowdown: float = 1.0) -> None:
        self.holdout = _split_rows(problem)[1]
        self.final_rows = final_rows
        self.span = span
        self.fresh_process = fresh_process
        # a table's ensemble fits its members ``workers`` at a time (``fit_final``); a forecast's one by one
        self.workers = workers if isinstance(problem, Problem) else 1
        self.max_us = max_us
        self.ceiling = ceiling
        self.slowdown = slowdown

    def members_seconds(self, final_fits: list[float]) -> float:
        """The final fit of an ensemble whose members' fits take ``final_fits``."""
        return parallel_seconds(final_fits, self.workers)

    def exponent(self, result: TrialResult, results: list[TrialResult]) -> float:
        """How this configuration's (else its family's) fit time grew with rows."""
        same = [(r.rows or 0, r.fit_seconds) for r in results
                if r.status == "ok" and r.trial.candidate == result.trial.candidate and r.rows]
        config = [(r.rows or 0, r.fit_seconds) for r in results if r.status == "ok" and r.rows
                  and r.trial.candidate == result.trial.candidate and r.trial.params == result.trial.params]
        return fit_exponent(config if len({rows for rows, _ in config}) > 1 else same)

    def final_fit_seconds(self, result: TrialResult, results: list[TrialResult], *, threads: int = 1) -> float:
        """The shipped model's fit on ``threads`` threads (an ensemble's members: one each): the
        trial's CPU seconds (its wall time, stretched by the trials beside it, where not measured)
        as slow as one process runs here (``slowdown``), scaled to the final rows, by its family's
        ``final_fit_factor`` and by the share of its fit that its threads share."""
        tags = _tags(result.trial.candidate)
        seconds = result.fit_seconds if result.fit_cpu_seconds is None else result.fit_cpu_seconds * self.slowdown
        one_thread = tags.final_fit_factor * scaled_seconds(seconds, result.rows or self.final_rows,
                                                            self.final_rows, self.exponent(result, results))
        return threaded_seconds(one_thread, tags.parallel_share, threads)

    def trial_seconds(self, result: TrialResult, rows: int, results: list[TrialResult]) -> float:
        """A trial of ``result``'s configuration on ``rows`` rows: its fit and the holdout's scoring."""
        predict = (result.predict_ms_per_1000 or 0.0) / 1000 * self.holdout / 1000
        return scaled_seconds(result.fit_seconds, result.rows or rows, rows, self.exponent(result, results)) + predict

    def scoring_seconds(self, trial: Trial, results: list[TrialResult], default: float) -> float:
        """What a trial of ``trial``'s family takes after its fit (scoring the holdout, measuring its
        model), as the family's trials measured it, with half again for a margin; ``default`` before."""
        measured = [r for r in results if r.status == "ok" and r.trial.candidate == trial.candidate]
        if not measured:
            return default
        # predicting the holdout, then pickling the model to measure it (~25 MB/s)
        return 1.5 * max((r.predict_ms_per_1000 or 0.0) / 1e6 * self.holdout + (r.size_bytes or 0) / 25e6
                         for r in measured)

    def reserve(self, results: list[TrialResult]) -> float:
        """Seconds to keep for the phases after the competition: those of the likeliest winners,
        the best trial and, as an ensemble, the best five that its member cap and serving cost
        limit admit; at most half the span. (Should another win at the end, a final fit that no
        longer fits gets fewer rows: ``plan_finish``.) The best trial's final fit is the one half
        the span affords (``fitted_within``): none, when that is no more rows than its trial saw
        and its model was kept. Before anything is measured: a guess of 5 s + 10 % of the span."""
        ok = sorted((r for r in results if r.status == "ok" and r.score is not None), key=lambda r: -(r.score or 0.0))
        cap = 0.5 * self.span
        if not ok:
            return min(cap, 5.0 + 0.1 * self.span)
        best = ok[0]
        alone = self.finish([best], self.final_fit_seconds(best, results, threads=self.workers))
        _, fit = self.fitted_within(alone.final_fit, cap - alone.fixed, trial_rows=best.rows or self.final_rows,
                                    exponent=self.exponent(best, results), kept=best.model is not None)
        finishes = [replace(alone, final_fit=fit)]
        limit, spent, members, fits = cost_limit(best.serving_us, self.max_us, self.ceiling), 0.0, [], []
        for r in ok[:5]:
            fit, us = self.final_fit_seconds(r, results), r.serving_us or 0.0
            if fit <= 0.15 * self.span and (limit is None or spent + us <= limit):
                members.append(r)
                fits.append(fit)
                spent += us
        if len(members) > 1:
            finishes.append(self.finish(members, self.members_seconds(fits)))
        return min(cap, max(f.total for f in finishes))

    def fitted_within(self, fit: float, available: float, *, trial_rows: int, exponent: float,
                      kept: bool) -> tuple[FinalPlan, float]:
        """The final fit ``available`` seconds afford, and its seconds, when a fit on every final row
        takes ``fit``: every row (when it overruns by no more than ``EVERY_ROW_SLACK`` too); else as
        many as fit, never fewer than the trial saw; or, when no more than the trial saw fit and its
        model was ``kept``, that model as it is (no fit)."""
        if fit <= available + EVERY_ROW_SLACK:
            return FinalPlan(self.final_rows), fit
        affordable = min(self.final_rows, affordable_rows(fit, self.final_rows, max(0.0, available), exponent))
        if affordable <= trial_rows and kept:
            return FinalPlan(trial_rows, reuse=True), 0.0
        rows = max(min(trial_rows, self.final_rows), affordable)
        return FinalPlan(rows), scaled_seconds(fit, self.final_rows, rows, exponent)

    def finish(self, models: list[TrialResult], fit: float) -> Finish:
        """The phases after the competition for ``models`` (one, or an ensemble's members)."""
        compiled = all(r.compiled and r.serving_us is not None for r in models)
        return finish_estimate(fit_seconds=fit, size_bytes=sum(r.size_bytes or 0 for r in models),
                               engine_us=sum(r.serving_us or 0.0 for r in models) if compiled else None,
                               predict_ms_per_1000=sum(r.predict_ms_per_1000 or 0.0 for r in models),
                               holdout=self.holdout, fresh_process=self.fresh_process,
                               convert_bytes=sum((r.size_bytes or 0) * _tags(r.candidate).compile_factor
                                                 for r in models))


def _tags(name: str) -> Tags:
    """A family's tags (the defaults for a name no longer registered, e.g. the ensemble's)."""
    return candidate_registry.get(name).tags if name in candidate_registry else Tags()


def _keep_best_models(results: list[TrialResult]) -> None:
    """Drop the fitted models of every trial but the best (those tied at the best score): the one
    that may ship as it is when no refit on more rows fits the budget."""
    kept = [r for r in results if r.model is not None]
    top = max((r.score for r in kept if r.status == "ok" and r.score is not None), default=None)
    for r in kept:
        if r.status != "ok" or r.score != top:
            r.model = None


def _too_slow(trial: Trial, results: list[TrialResult], seconds_left: float, timing: _Timing) -> bool:
    """Whether every trial of ``trial``'s family measured so far would need more than ``seconds_left``
    for ``trial`` (its fit, scaled to its rows, and the holdout's scoring); False before any is measured."""
    measured = [r for r in results if r.status == "ok" and r.trial.candidate == trial.candidate]
    return bool(measured) and min(timing.trial_seconds(r, trial.rows or r.rows or 0, results)
                                  for r in measured) > seconds_left


def _trial_cap(span: float) -> float:
    """No single trial may take more than a third of the budget."""
    return max(5.0, span / 3)


def _trial_deadline(end: float | None, span: float, scoring: float) -> float | None:
    """When a trial's fit must stop: its cap, or ``scoring`` seconds before the competition's end,
    so that it scores the holdout before running trials are stopped."""
    if end is None:
        return None
    return min(end - scoring, time.time() + _trial_cap(span))


def _judge_compiled(result: TrialResult) -> TrialResult:
    """Whether the trial's model compiles, judged here from its parts' types: the converters
    are imported by this process alone, never by the trial workers (31 MB each)."""
    if result.compiled is None and result.parts:
        blocker = unconvertible_part(result.parts)
        result.compiled, result.compile_blocker = blocker is None, blocker
    return result


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
    serving_us = math.inf if result.serving_us is None else result.serving_us
    if constraints.max_serving_us is not None and serving_us > constraints.max_serving_us:
        result.status = "excluded"
        result.error = (f"serves in an estimated {result.serving_us:.1f} µs a row, over max_serving_us "
                        f"{constraints.max_serving_us:g}" if result.serving_us is not None else
                        "has no estimated serving cost, and max_serving_us is set")
    if constraints.compiled and not result.compiled:
        result.status = "excluded"
        result.error = f"does not compile ({result.compile_blocker or 'no ONNX converter'}), and compiled is required"
    return result


# a final fit on every row is made when it overruns what is left by no more than this: a second late
# costs less than a model that never saw the holdout (German credit at 60 s: 0.725 on the trial's 640
# rows, 0.800 on all 800, for 0.04 s more)
EVERY_ROW_SLACK = 1.0


@dataclass(frozen=True)
class FinalPlan:
    """How the shipped model is made: fitted on ``rows`` rows, or (``reuse``) the winning trial's own
    model, when the budget affords a refit on no more rows than it saw."""

    rows: int
    reuse: bool = False


def plan_finish(problem: Problem | ForecastProblem, board: Leaderboard, winner: TrialResult, clock: PhaseClock, *,
                refit: bool, workers: int = 1) -> FinalPlan:
    """Plan the phases after the competition on ``clock``.

    Every row (train + holdout with ``refit``) when the winner's measured fit, scaled to them,
    fits in what is left of the budget beside compilation, packaging and registration; else
    as many as fit, never fewer than the winner's trial saw: when no more fit, the trial's own
    model ships if it was kept (a subsampled run), else it is refitted on as many (a forecast:
    every point). An ensemble's members are fitted ``workers`` at a time."""
    n_train, _ = _split_rows(problem)
    final_rows = problem.n_rows if refit else n_train
    timing = _Timing(problem, final_rows=final_rows, span=clock.budget or 0.0, fresh_process=clock.fresh_process,
                     workers=workers, slowdown=clock.slowdown)
    results = board.results
    if winner.trial.candidate == ENSEMBLE:
        members = [r for r in results if r.trial.id in winner.trial.params["members"]]
        fit = timing.members_seconds([timing.final_fit_seconds(m, results) for m in members])
        trial_rows, exponent = min((m.rows or final_rows for m in members), default=final_rows), DEFAULT_EXPONENT
    else:
        fit = timing.final_fit_seconds(winner, results, threads=timing.workers)
        trial_rows, exponent = winner.rows or final_rows, timing.exponent(winner, results)
    finish = timing.finish([winner], fit)
    left = clock.left()
    plan = FinalPlan(final_rows)
    clock.notes["final_fit_every_row"] = round(fit, 2)  # the estimate for every row, before any cut
    if left is not None and isinstance(problem, Problem):
        plan, fit = timing.fitted_within(fit, left - finish.fixed, trial_rows=trial_rows, exponent=exponent,
                                         kept=winner.model is not None)
    clock.plan("final_fit", fit)
    clock.plan("compile", finish.compile)
    clock.plan("package", finish.package)
    clock.plan("register", finish.register)
    clock.notes["final_rows"] = plan.rows
    clock.notes["final_model"] = "the winning trial's" if plan.reuse else "refitted"
    return plan


def fit_final(problem: Problem | ForecastProblem, winner: Trial, board: Leaderboard, *, refit_all: bool,
              rows: int | None = None, deadline: float | None = None, workers: int = 1) -> Any:
    """The winner's pipeline (or ensemble) fitted on train + test (or train only) for the package:
    on ``rows`` of them when given (the holdout's rows first, then train rows as a trial takes
    them); iterative families stop at ``deadline``; one model on ``workers`` threads (a trial
    had one), an ensemble's members ``workers`` at a time, one thread each (the families fit in
    native code that releases the GIL). For a forecast, its
    forecaster fitted on every point of every series (or the train part)."""
    if isinstance(problem, ForecastProblem):
        return fit_final_forecast(problem, winner, board, refit_all=refit_all, deadline=deadline)
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
        X_part, y_part = problem.train_part(None if rows is None else max(0, rows - len(problem.X_test)))
        if len(X_part):
            X: Any = pd.concat([X_part, problem.X_test])
            y: Any = pd.concat([y_part, problem.y_test])
        else:  # no train row fits: the holdout alone (pandas warns on concatenating an empty frame)
            X, y = problem.X_test, problem.y_test
    else:
        X, y = problem.train_part(rows)
    if winner.candidate == ENSEMBLE:  # members side by side, a thread each
        members_at_once, model_threads = workers, 1
    else:  # the one model alone on the machine: its trial's one thread becomes ``workers``
        members_at_once, model_threads = 1, workers
        pipeline.set_params(**{key: workers for key, value in pipeline.get_params().items()
                               if key.endswith("n_jobs") and value == 1})
    with warnings.catch_warnings(), fit_deadline(deadline), threadpool_limits(model_threads), \
            parallel_config(backend="threading", n_jobs=members_at_once):
        warnings.simplefilter("ignore")
        return pipeline.fit(X, y)
