import gc
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from podium.candidates import Candidate, Tags, candidate_registry
from podium.spec import BudgetSpec, ConstraintsSpec, parse_spec
from podium.training.leaderboard import TrialResult
from podium.training import (
    InlineExecutor,
    LocalExecutor,
    Trial,
    compete,
    fit_final,
    prepare,
    select_candidates,
)


def _frame(n=240, seed=0):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    color = rng.choice(["red", "green", "blue"], n)
    y = np.where(x1 + 0.5 * x2 + (color == "red") + rng.normal(0, 0.3, n) > 0.5, "yes", "no")
    return pd.DataFrame({"x1": x1, "x2": x2, "color": color, "y": y})


class _Boom(BaseEstimator, ClassifierMixin):
    def fit(self, X, y):
        raise RuntimeError("boom: this family always fails")


class _Sleepy(BaseEstimator, ClassifierMixin):
    def __init__(self, seconds=30.0):
        self.seconds = seconds

    def fit(self, X, y):
        time.sleep(self.seconds)
        return self


def _register(name, build):
    if name not in candidate_registry:
        candidate_registry.register(name, Candidate(name=name, tasks=frozenset({"binary"}), build=build,
                                                    tags=Tags(handles_missing=True, encoding="ordinal")))
    return candidate_registry.get(name)


@pytest.fixture
def problem():
    spec = parse_spec({"source": "x.csv", "target": "y", "budget": {"trials": 6}, "seed": 1})
    return prepare(_frame(), spec).problem


def test_a_trial_budget_gives_the_same_leaderboard_twice(problem):
    cands, _ = select_candidates(["logistic_regression", "decision_tree", "lightgbm"], "binary", 240)
    boards = [compete(problem, cands, budget=BudgetSpec(trials=6), executor=InlineExecutor(), seed=1)
              for _ in range(2)]
    rows = [[(r["candidate"], r["params"], r["score"]) for r in b.rows()] for b in boards]
    assert rows[0] == rows[1]
    assert len([r for r in boards[0].results if r.candidate != "ensemble"]) == 6
    assert boards[0].best.value > 0.7


def test_a_failing_candidate_is_recorded_and_the_rest_go_on(problem):
    boom = _register("boom_test", lambda task, params, seed: _Boom())
    logistic = candidate_registry.get("logistic_regression")
    board = compete(problem, [boom, logistic], budget=BudgetSpec(trials=2), executor=InlineExecutor(),
                    ensemble=False)
    failed = [r for r in board.results if r.status == "failed"]
    assert len(failed) == 1 and "boom: this family always fails" in failed[0].error
    assert board.best.candidate == "logistic_regression"


def test_constraints_exclude_models_too_big_to_serve(problem):
    forest = candidate_registry.get("random_forest")
    logistic = candidate_registry.get("logistic_regression")
    board = compete(problem, [forest, logistic], budget=BudgetSpec(trials=2), executor=InlineExecutor(),
                    constraints=ConstraintsSpec(max_model_mb=0.05), ensemble=False)
    excluded = [r for r in board.results if r.status == "excluded"]
    assert [r.candidate for r in excluded] == ["random_forest"]
    assert "over max_model_mb" in excluded[0].error
    assert board.best.candidate == "logistic_regression"


def test_a_trial_past_the_time_budget_is_stopped_and_recorded(problem):
    sleepy = _register("sleepy_test", lambda task, params, seed: _Sleepy(30))
    logistic = candidate_registry.get("logistic_regression")
    start = time.time()
    board = compete(problem, [sleepy, logistic], budget=BudgetSpec(seconds=2),
                    executor=LocalExecutor(2), ensemble=False)
    assert time.time() - start < 15
    statuses = {r.candidate: r.status for r in board.results}
    assert statuses["sleepy_test"] == "timeout"
    assert board.best is not None and board.best.candidate == "logistic_regression"


def _maps_of(folder, pid="self"):
    """The lines of a process's memory map that map a file of ``folder``."""
    return [line for line in Path(f"/proc/{pid}/maps").read_text().splitlines() if str(folder) in line]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/PID/maps")
def test_local_workers_share_the_rows_in_one_read_only_file_that_never_has_a_name(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the file is made
    spec = parse_spec({"source": "x.csv", "target": "y", "budget": {"trials": 2}, "seed": 1})
    problem = prepare(_frame(), spec).problem
    expected = problem.X_train.copy()
    others = {child.pid for child in psutil.Process().children()}  # earlier tests' helpers
    executor = LocalExecutor(2)
    executor.start(problem)
    try:
        future = executor.submit(Trial(0, "logistic_regression", {}, 1), None)
        # this process now reads the rows from the mapped file, as the forked workers do
        assert not problem.X_train["x1"].to_numpy().flags.writeable
        pd.testing.assert_frame_equal(problem.X_train, expected)
        workers = [child for child in psutil.Process().children() if child.pid not in others]
        assert len(workers) == 2 and all(_maps_of(tmp_path, w.pid) for w in workers)
        assert list(tmp_path.iterdir()) == []  # no name, ever: nothing is left behind by a crash
        assert future.result(timeout=60).status == "ok"
    finally:
        executor.close()
    assert all("(deleted)" in line for line in _maps_of(tmp_path))
    del problem, executor
    gc.collect()
    assert _maps_of(tmp_path) == []  # freed with the last frame built on it


def test_the_ensemble_is_a_plain_voting_model_of_whole_pipelines(problem):
    cands, _ = select_candidates(["logistic_regression", "knn", "decision_tree"], "binary", 240)
    board = compete(problem, cands, budget=BudgetSpec(trials=6), executor=InlineExecutor(), seed=1,
                    ensemble=False)
    first, second = board.results[:2]
    combined = Trial(99, "ensemble", {"members": [first.trial.id, second.trial.id], "weights": [2, 1]}, 0)
    model = fit_final(problem, combined, board, refit_all=True)
    assert type(model).__name__ == "VotingClassifier" and model.weights.tolist() == [2, 1]
    pred = model.predict(problem.X_test.head(5))
    assert set(pred) <= {"yes", "no"}
    assert model.predict_proba(problem.X_test.head(5)).shape == (5, 2)


def test_candidates_are_filtered_by_task_and_size():
    chosen, notes = select_candidates("all", "regression", 100)
    names = {c.name for c in chosen}
    assert "ridge" in names and "logistic_regression" not in names
    chosen, notes = select_candidates("all", "binary", 1_000_000)
    assert "knn" not in {c.name for c in chosen} and any("knn" in n for n in notes)


@pytest.mark.parametrize("name", ["knn", "random_forest", "lightgbm", "mlp", "logistic_regression"])
def test_every_family_finishes_its_first_trial(problem, name):
    from podium.training.trial import run_trial

    result = run_trial(problem, Trial(0, name, {}, 0), deadline=None)
    assert result.status == "ok", result.error
    assert result.size_bytes and result.size_bytes > 0


def test_the_model_size_is_its_pickled_size():
    import pickle

    from sklearn.neighbors import KNeighborsClassifier

    from podium.training.trial import _pickled_size

    rng = np.random.default_rng(0)
    model = KNeighborsClassifier().fit(rng.random((5000, 10)), rng.integers(0, 2, 5000))
    assert _pickled_size(model) == len(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))


class _Crash(BaseEstimator, ClassifierMixin):
    def fit(self, X, y):
        import os

        os._exit(1)  # the worker process dies, as it would when the kernel kills it for memory


def test_a_dead_worker_is_recorded_and_a_fresh_pool_goes_on(problem):
    crash = _register("crash_test", lambda task, params, seed: _Crash())
    logistic = candidate_registry.get("logistic_regression")
    board = compete(problem, [crash, logistic], budget=BudgetSpec(trials=4), executor=LocalExecutor(1),
                    ensemble=False)
    died = [r for r in board.results if r.candidate == "crash_test"]
    assert died and all(r.status == "failed" for r in died)
    assert any("worker process died" in (r.error or "") for r in died)
    assert board.best is not None and board.best.candidate == "logistic_regression"
    assert gc.get_freeze_count() == 0  # frozen for the forks only (a broken pool's restart too)


def test_near_the_end_a_family_measured_slower_than_what_is_left_is_not_launched(problem):
    from podium.training.trainer import _Timing, _too_slow

    timing = _Timing(problem, final_rows=problem.n_rows, span=30.0, fresh_process=3.0)
    rows = len(problem.X_train)
    results = [TrialResult(Trial(0, "random_forest", {}, 0, rows=rows), "ok", score=0.8, fit_seconds=5.0, rows=rows),
               TrialResult(Trial(1, "lightgbm", {}, 0, rows=rows), "ok", score=0.9, fit_seconds=0.3, rows=rows),
               TrialResult(Trial(2, "knn", {}, 0, rows=rows), "failed", error="boom")]
    forest, boosted, knn = (Trial(9, name, {"n": 1}, 0) for name in ("random_forest", "lightgbm", "knn"))
    assert _too_slow(forest, results, 2.0, timing)  # 5 s measured, 2 s left: it would be stopped unfinished
    assert not _too_slow(forest, results, 6.0, timing)
    assert not _too_slow(boosted, results, 2.0, timing)
    assert not _too_slow(knn, results, 0.1, timing)  # nothing measured (a failure is no measure): it may run
    half = Trial(9, "random_forest", {}, 0, rows=rows // 2)  # on fewer rows it is faster (scaled)
    assert _too_slow(half, results, 2.0, timing) and not _too_slow(half, results, 3.0, timing)


class _Barrier(ClassifierMixin, BaseEstimator):
    """Fits only when another member fits at the same time (or raises after 20 s)."""

    barrier = None

    def fit(self, X, y):
        type(self).barrier.wait(timeout=20)
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        return np.full((len(X), len(self.classes_)), 1 / len(self.classes_))


def test_an_ensembles_members_are_planned_and_fitted_two_at_a_time(problem):
    import threading

    from podium.training import Leaderboard, PhaseClock, plan_finish
    from podium.training.ensemble import ENSEMBLE

    _register("barrier_test", lambda task, params, seed: _Barrier())
    rows = problem.n_rows  # the trials saw every row: their fit times are the final fits' own
    members = [TrialResult(Trial(i, "barrier_test", {}, 0, rows=rows), "ok", score=0.8, fit_seconds=4.0, rows=rows,
                           size_bytes=0, predict_ms_per_1000=0.0) for i in (0, 1)]
    ensemble = TrialResult(Trial(2, ENSEMBLE, {"members": [0, 1], "weights": [1, 1]}, 0), "ok", score=0.9,
                           fit_seconds=8.0, size_bytes=0, predict_ms_per_1000=0.0)
    board = Leaderboard([*members, ensemble], problem.metric.name)
    for workers, planned in ((1, 8.0), (2, 4.0)):
        clock = PhaseClock(None)
        plan_finish(problem, board, ensemble, clock, refit=True, workers=workers)
        assert clock.planned["final_fit"] == pytest.approx(planned)
    _Barrier.barrier = threading.Barrier(2)  # one member alone would wait for the other in vain
    fitted = fit_final(problem, ensemble.trial, board, refit_all=True, workers=2)
    assert len(fitted.estimators_) == 2 and not _Barrier.barrier.broken


def test_a_trials_fit_stops_in_time_to_score_the_holdout_before_the_competitions_end(problem):
    from podium.training.trainer import _Timing, _trial_deadline

    timing = _Timing(problem, final_rows=problem.n_rows, span=60.0, fresh_process=1.2)
    holdout = len(problem.X_test)
    slow = TrialResult(Trial(0, "knn", {}, 0), "ok", score=0.8, predict_ms_per_1000=1e6 / holdout, size_bytes=0)
    assert timing.scoring_seconds(Trial(1, "knn", {}, 0), [slow], 2.0) == pytest.approx(1.5)  # 1 s measured + half
    assert timing.scoring_seconds(Trial(1, "mlp", {}, 0), [slow], 2.0) == 2.0  # nothing measured: the default
    end = time.time() + 10.0
    assert _trial_deadline(end, 60.0, 1.5) == pytest.approx(end - 1.5)
    assert _trial_deadline(end, 6.0, 1.5) < end - 1.5  # or its cap, when sooner (5 s)


def test_the_final_fit_is_planned_from_the_trials_cpu_as_slow_as_one_process_runs_here(problem):
    from podium.training.trainer import _Timing

    rows = problem.n_rows
    timing = _Timing(problem, final_rows=rows, span=60.0, fresh_process=1.2, slowdown=1.5)
    beside = TrialResult(Trial(0, "ridge", {}, 0, rows=rows), "ok", score=0.8, fit_seconds=4.0, fit_cpu_seconds=1.0,
                         rows=rows)
    assert timing.final_fit_seconds(beside, [beside]) == pytest.approx(1.5)  # not the 4 s two trials at once took
    beside.fit_cpu_seconds = None  # not measured (a plugin executor): the wall time
    assert timing.final_fit_seconds(beside, [beside]) == pytest.approx(4.0)


def test_the_winner_alone_is_fitted_and_planned_on_every_worker_thread(problem):
    from podium.training import Leaderboard, PhaseClock, plan_finish
    from podium.training.trainer import _Timing

    rows = problem.n_rows
    timing = _Timing(problem, final_rows=rows, span=60.0, fresh_process=1.2)
    boosted = TrialResult(Trial(0, "lightgbm", {}, 0, rows=rows), "ok", score=0.8, fit_seconds=1.0,
                          fit_cpu_seconds=1.0, rows=rows, size_bytes=0, predict_ms_per_1000=0.0)
    ridge = TrialResult(Trial(1, "ridge", {}, 0, rows=rows), "ok", score=0.8, fit_seconds=1.0, fit_cpu_seconds=1.0,
                        rows=rows)
    # a booster's final fit costs twice its trial's; 70 % of it is shared by the threads
    assert timing.final_fit_seconds(boosted, [boosted], threads=2) == pytest.approx(2.0 * (0.3 + 0.7 / 2))
    assert timing.final_fit_seconds(ridge, [ridge], threads=2) == pytest.approx(1.0)  # nothing to share
    clock = PhaseClock(None)
    plan_finish(problem, Leaderboard([boosted], problem.metric.name), boosted, clock, refit=True, workers=2)
    assert clock.planned["final_fit"] == pytest.approx(1.3)
    for workers in (1, 2):
        fitted = fit_final(problem, boosted.trial, Leaderboard([boosted], problem.metric.name), refit_all=True,
                           workers=workers)
        assert fitted[-1].model_.get_params()["n_jobs"] == workers  # the trial's n_jobs=1 given every thread


def test_ties_go_to_the_model_cheaper_to_serve():
    from podium.training import Leaderboard, Trial, TrialResult

    def result(i, score, us, fit):
        return TrialResult(Trial(i, "lightgbm", {}, 0), "ok", value=score, score=score, serving_us=us, fit_seconds=fit)

    board = Leaderboard([result(0, 0.8, 17.3, 0.1), result(1, 0.8, 3.9, 2.0), result(2, 0.7, 0.5, 0.1),
                         result(3, 0.8, None, 0.01)], "accuracy")
    assert [r.trial.id for r in board.results] == [1, 0, 3, 2]  # then the faster to fit; unknown cost last
    assert [r.trial.id for r in Leaderboard(board.results, "accuracy", reproducible=True).results] == [1, 0, 3, 2]
