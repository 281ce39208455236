"""The budget's plan: holdout rows, rungs of rows, fit-time growth, the phases after the competition."""

import pickle
import time

import numpy as np
import pandas as pd
import pytest

from podium._internal.resources import usable_cores
from podium.errors import SpecError
from podium.spec import SplitSpec, parse_spec
from podium.training import Leaderboard, PhaseClock, Trial, TrialResult, plan_finish, prepare
from podium.training.budget import (
    CHECK_ROWS,
    DEFAULT_EXPONENT,
    MIN_RUNG_ROWS,
    PHASES,
    SMOKE_ROWS,
    affordable_rows,
    finish_estimate,
    fit_exponent,
    holdout_rows,
    parallel_seconds,
    rungs,
    scaled_seconds,
)
from podium.training.halving import Ladder
from podium.training.trainer import FinalPlan, _keep_best_models
from podium.training.split import holdout_split


@pytest.mark.parametrize(("n", "fraction", "cap", "expected"), [
    (1_000, 0.2, 50_000, 200),
    (1_000_000, 0.2, 50_000, 50_000),
    (1_000_000, 0.2, None, 200_000),
    (10_000_000, 0.1, 20_000, 20_000),
])
def test_the_holdout_is_a_fraction_of_the_rows_up_to_a_cap(n, fraction, cap, expected):
    assert holdout_rows(n, fraction, cap) == expected


def test_a_split_of_many_rows_holds_out_at_most_max_test_rows():
    n = 400
    X = pd.DataFrame({"a": np.arange(n, dtype=float)})
    y = pd.Series(np.arange(n) % 2)
    split = holdout_split(X, y, SplitSpec(test_size=0.5, max_test_rows=30), task="binary")
    assert len(split.X_test) == 30 and len(split.X_train) == n - 30


@pytest.mark.parametrize(("n_train", "expected"), [
    (800, (800,)),
    (3 * MIN_RUNG_ROWS - 1, (3 * MIN_RUNG_ROWS - 1,)),
    (300_000, (33_333, 100_000, 300_000)),
])
def test_rungs_grow_by_eta_up_to_every_train_row(n_train, expected):
    assert rungs(n_train) == expected


def test_rungs_of_ten_million_rows_start_near_the_minimum():
    sizes = rungs(10_000_000)
    assert sizes[-1] == 10_000_000 and MIN_RUNG_ROWS <= sizes[0] < 3 * MIN_RUNG_ROWS
    assert all(b // a == 3 for a, b in zip(sizes, sizes[1:]))


def test_fit_exponent_is_the_measured_growth_and_a_default_until_measured():
    points = [(rows, 0.002 * rows ** 1.3) for rows in (10_000, 30_000, 90_000)]
    assert fit_exponent(points) == pytest.approx(1.3, abs=1e-6)
    assert fit_exponent(points[:1]) == DEFAULT_EXPONENT
    assert fit_exponent([(1_000, 0.001), (2_000, 0.001)]) == DEFAULT_EXPONENT  # too short to time
    assert fit_exponent([(1_000, 1.0), (2_000, 100.0)]) == 2.0  # clamped


def test_scaled_seconds_and_affordable_rows_are_inverse():
    seconds = scaled_seconds(2.0, 10_000, 90_000, exponent=1.2)
    assert seconds == pytest.approx(2.0 * 9 ** 1.2)
    assert affordable_rows(2.0, 10_000, seconds, exponent=1.2) == pytest.approx(90_000, rel=1e-6)
    assert scaled_seconds(2.0, 10_000, 10_000) == 2.0


def test_finish_estimate_grows_with_the_model_and_its_predict_time():
    small = finish_estimate(fit_seconds=1.0, size_bytes=1_000_000, predict_ms_per_1000=1.0, holdout=20_000)
    big = finish_estimate(fit_seconds=1.0, size_bytes=100_000_000, predict_ms_per_1000=50.0, holdout=20_000)
    assert big.compile > small.compile and big.package > small.package and big.register > small.register
    assert small.total == pytest.approx(small.final_fit + small.fixed)
    assert parallel_seconds([4.0, 3.0, 3.0, 2.0], 2) == 6.0 and parallel_seconds([4.0, 3.0], 1) == 7.0
    # the graph is checked on at most CHECK_ROWS holdout rows, whatever the holdout's size
    capped = finish_estimate(fit_seconds=1.0, size_bytes=0, predict_ms_per_1000=1000.0, holdout=10 * CHECK_ROWS)
    assert capped.compile == pytest.approx(0.3 + 2 * CHECK_ROWS / 1000)
    # a busy machine (its fresh process takes 3x an idle one's 1.2 s) converts 3x slower
    busy = finish_estimate(fit_seconds=1.0, size_bytes=10_000_000, predict_ms_per_1000=0.0, holdout=20_000,
                           fresh_process=3.6)
    idle = finish_estimate(fit_seconds=1.0, size_bytes=10_000_000, predict_ms_per_1000=0.0, holdout=20_000)
    assert busy.compile == pytest.approx(3 * idle.compile) and busy.package > idle.package
    # the package phase scores the holdout and the smoke rows on the compiled graph when there is one
    sklearn = finish_estimate(fit_seconds=1.0, size_bytes=0, predict_ms_per_1000=50.0, holdout=20_000)
    graph = finish_estimate(fit_seconds=1.0, size_bytes=0, predict_ms_per_1000=50.0, holdout=20_000, engine_us=10.0)
    graph_row = 10e-6 / usable_cores()  # one call on every core
    assert sklearn.package - graph.package == pytest.approx((50e-6 - graph_row) * (20_000 + SMOKE_ROWS))
    assert graph.compile == sklearn.compile  # the compile check runs the pipeline beside the graph


def test_the_phase_clock_records_planned_and_actual_seconds():
    clock = PhaseClock(30.0, time.time() - 2.0)
    clock.plan("final_fit", 4.0)
    with clock.phase("read"):
        pass
    with clock.phase("read"):
        pass
    report = clock.to_json()
    assert report["budget_seconds"] == 30.0 and report["wall_seconds"] >= 2.0
    assert list(report["phases"]) == ["start", "read", "final_fit"]  # in PHASES order
    assert report["phases"]["start"]["actual"] == pytest.approx(2.0, abs=0.5)
    assert report["phases"]["final_fit"] == {"planned": 4.0, "actual": None, "cpu": None}
    assert report["phases"]["read"]["planned"] is None and report["phases"]["read"]["actual"] >= 0
    assert report["phases"]["start"]["cpu"] > 0  # this process's CPU before the run: its imports
    assert 0 <= report["phases"]["read"]["cpu"] <= report["phases"]["read"]["actual"] + 0.05
    assert set(report["phases"]) <= set(PHASES)
    assert 27.0 < clock.left() <= 28.0


def _result(id_, score, rows, *, candidate="lightgbm", fit=1.0, params=None, size=1000):
    return TrialResult(Trial(id_, candidate, params or {"n": id_}, 0, rows=rows), "ok", value=score, score=score,
                       fit_seconds=fit, predict_ms_per_1000=1.0, size_bytes=size, rows=rows)


def test_the_ladder_promotes_the_best_third_of_a_rung_once():
    ladder = Ladder((100, 300, 900))
    results = [_result(i, score, 100) for i, score in enumerate([0.5, 0.9, 0.7])]
    promoted = ladder.promotion(results, 3, lambda r, rows: True)
    assert promoted == Trial(3, "lightgbm", {"n": 1}, 0, rows=300)
    assert ladder.promotion(results, 4, lambda r, rows: True) is None  # a third of 3: one
    assert ladder.first(Trial(5, "ridge", {}, 0)).rows == 100
    assert Ladder((5_000,)).first(Trial(5, "ridge", {}, 0)).rows is None  # one rung: every row


def test_the_ladder_promotes_the_highest_rung_first_and_only_what_fits():
    ladder = Ladder((100, 300, 900))
    results = [_result(i, 0.5 + i / 100, 100) for i in range(6)] + [_result(6 + i, 0.8 + i / 100, 300)
                                                                      for i in range(3)]
    assert ladder.promotion(results, 9, lambda r, rows: False) is None
    top = ladder.promotion(results, 9, lambda r, rows: True)
    assert top is not None and top.rows == 900 and top.params == {"n": 8}
    second = ladder.promotion(results, 10, lambda r, rows: True)
    assert second is not None and second.rows == 300 and second.params == {"n": 5}


def _board_problem(n=200):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=n), "y": rng.choice(["a", "b"], n)})
    return prepare(frame, parse_spec({"source": "x.csv", "target": "y"})).problem


def test_plan_finish_gives_every_row_when_the_fit_fits_and_fewer_when_it_does_not():
    problem = _board_problem()
    quick = _result(0, 0.9, 40, fit=0.01)
    clock = PhaseClock(60.0)
    rows = plan_finish(problem, Leaderboard([quick], "accuracy"), quick, clock, refit=True).rows
    assert rows == problem.n_rows and clock.notes["final_rows"] == problem.n_rows
    assert set(clock.planned) == {"final_fit", "compile", "package", "register"}
    # lightgbm's shipped fit also refits on its early-stopping rows: twice its trial's (final_fit_factor)
    assert clock.planned["final_fit"] == pytest.approx(2 * scaled_seconds(0.01, 40, problem.n_rows), rel=1e-3)
    slow = _result(0, 0.9, 40, fit=20.0)  # 20 s on 40 rows: every row would take far past the budget
    clock = PhaseClock(60.0)
    rows = plan_finish(problem, Leaderboard([slow], "accuracy"), slow, clock, refit=True).rows
    assert 40 <= rows < problem.n_rows
    assert clock.planned["final_fit"] + clock.planned["compile"] + clock.planned["package"] \
        + clock.planned["register"] <= 60.0 + 1e-6


def test_a_kept_trial_model_ships_when_no_refit_on_more_rows_fits():
    problem = _board_problem()
    slow = _result(0, 0.9, 40, fit=20.0)  # every row would take far past the budget, 40 rows ~20 s
    slow.model = pickle.dumps("the trial's fitted pipeline")
    clock = PhaseClock(20.0)
    plan = plan_finish(problem, Leaderboard([slow], "accuracy"), slow, clock, refit=True)
    assert plan.reuse and plan.rows == 40 and clock.planned["final_fit"] == 0.0
    assert clock.notes["final_model"] == "the winning trial's" and slow.fitted() == "the trial's fitted pipeline"
    clock = PhaseClock(20.0)  # the same without the model kept: refitted on as many rows as the trial saw
    slow.model = None
    plan = plan_finish(problem, Leaderboard([slow], "accuracy"), slow, clock, refit=True)
    assert not plan.reuse and plan.rows == 40 and clock.planned["final_fit"] > 0
    quick = _result(0, 0.9, 40, fit=0.01)  # a refit on every row fits: the kept model is not shipped
    quick.model = pickle.dumps("unused")
    plan = plan_finish(problem, Leaderboard([quick], "accuracy"), quick, PhaseClock(60.0), refit=True)
    assert not plan.reuse and plan.rows == problem.n_rows


def test_a_final_fit_on_every_row_a_moment_late_is_made_all_the_same():
    from podium.training.trainer import EVERY_ROW_SLACK, _Timing

    problem = _board_problem()
    timing = _Timing(problem, final_rows=problem.n_rows, span=60.0, fresh_process=1.2)
    # the competition overran its end: nothing is left, a fit on every row takes a fraction of a second
    plan, seconds = timing.fitted_within(0.2, 0.0, trial_rows=160, exponent=1.1, kept=False)
    assert plan == FinalPlan(problem.n_rows) and seconds == pytest.approx(0.2)
    plan, seconds = timing.fitted_within(EVERY_ROW_SLACK + 5.0, 0.0, trial_rows=160, exponent=1.1, kept=False)
    assert plan == FinalPlan(160) and seconds < EVERY_ROW_SLACK + 5.0  # seconds late: the trial's rows


def test_the_competition_keeps_no_time_for_a_refit_that_will_not_happen():
    from podium.training.trainer import _Timing

    problem = _board_problem()
    timing = _Timing(problem, final_rows=problem.n_rows, span=20.0, fresh_process=1.2)
    slow = _result(0, 0.9, 40, fit=20.0)  # half the span affords no more rows than the trial saw
    fixed = timing.finish([slow], 0.0).fixed
    assert timing.reserve([slow]) == pytest.approx(10.0)  # without its model: a refit, capped at half the span
    slow.model = pickle.dumps("the trial's fitted pipeline")  # with it: the trial's model ships, no refit
    assert timing.reserve([slow]) == pytest.approx(fixed)


def test_a_subsampled_run_keeps_the_model_of_its_best_trial_only():
    results = [_result(i, score, 100) for i, score in enumerate([0.5, 0.9, 0.7, 0.9, 0.6])]
    for r in results:
        r.model = b"model"
    results.append(TrialResult(Trial(5, "ridge", {}, 0), "failed", error="boom", model=b"model"))
    _keep_best_models(results)
    assert [r.trial.id for r in results if r.model is not None] == [1, 3]  # the two tied at the best
    results.append(_result(6, 0.95, 100))
    results[-1].model = b"model"
    _keep_best_models(results)
    assert [r.trial.id for r in results if r.model is not None] == [6]


def test_a_subsampled_trial_takes_the_first_rows_or_the_latest_in_time_order():
    problem = _board_problem()
    X, y = problem.train_part(10)
    assert X.index.equals(problem.X_train.index[:10]) and y.index.equals(X.index)
    problem.time_ordered = True
    X, _ = problem.train_part(10)
    assert X.index.equals(problem.X_train.index[-10:])
    assert problem.train_part(None)[0] is problem.X_train


def test_the_rows_read_follow_the_time_budget_unless_the_spec_says():
    spec = parse_spec({"source": "x.csv", "target": "y", "budget": {"seconds": 15}})
    assert spec.budget.row_cap() == 300_000  # 20,000 a second of the budget
    assert parse_spec({"source": "x.csv", "target": "y", "budget": {"seconds": 5}}).budget.row_cap() == 250_000
    assert parse_spec({"source": "x.csv", "target": "y", "budget": {"trials": 5}}).budget.row_cap() is None
    every = parse_spec({"source": "x.csv", "target": "y", "budget": {"seconds": 15, "max_rows": None}})
    assert every.budget.row_cap() is None
    assert parse_spec({"source": "x.csv", "target": "y",
                       "budget": {"trials": 5, "max_rows": 1_000}}).budget.row_cap() == 1_000
    with pytest.raises(SpecError, match="max_rows must be at least 100"):
        parse_spec({"source": "x.csv", "target": "y", "budget": {"max_rows": 10}})


def test_a_booster_is_planned_to_convert_slower_a_byte():
    problem = _board_problem()
    plans = {}
    for family in ("lightgbm", "random_forest"):
        winner = _result(0, 0.9, 40, candidate=family, fit=0.01, size=10_000_000)
        clock = PhaseClock(600.0)
        plan_finish(problem, Leaderboard([winner], "accuracy"), winner, clock, refit=True)
        plans[family] = clock.planned["compile"]
    assert plans["random_forest"] == pytest.approx(0.3 + 1.0, abs=0.05)  # ~10 MB/s: skl2onnx's own converters
    assert plans["lightgbm"] == pytest.approx(0.3 + 6.0, abs=0.05)  # onnxmltools: ~1.7 MB/s
