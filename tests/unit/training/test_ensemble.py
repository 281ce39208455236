import numpy as np
import pandas as pd
import pytest

from podium.training import Problem, Trial, TrialResult, get_metric
from podium.training.ensemble import ENSEMBLE, MIN_GAIN, cost_limit, select_ensemble


def _problem(y):
    frame = pd.DataFrame({"x": np.arange(len(y), dtype=float)})
    return Problem(X_train=frame, y_train=pd.Series(y), X_test=frame, y_test=pd.Series(y),
                   task="regression", metric=get_metric("rmse", "regression"), column_types={})


def _result(i, name, pred, y, us=None):
    rmse = float(np.sqrt(np.mean((pred - y) ** 2)))
    return TrialResult(Trial(i, name, {}, 0), "ok", value=rmse, score=-rmse, predictions=pred, fit_seconds=1.0,
                       serving_us=us)


def test_errors_that_cancel_make_an_ensemble_better_than_each_member():
    y = np.linspace(0, 10, 50)
    over, under = y + 1.0, y - 1.0
    results = [_result(0, "lightgbm", over, y), _result(1, "ridge", under, y),
               _result(2, "lightgbm", over + 0.1, y)]
    combined = select_ensemble(_problem(y), results, next_id=3)
    assert combined is not None and combined.candidate == ENSEMBLE
    assert combined.trial.params["members"] == [0, 1] and combined.trial.params["weights"] == [1, 1]
    assert combined.value < 1e-9 < results[0].value


def test_no_ensemble_when_one_model_is_best_alone_or_members_are_too_slow():
    y = np.linspace(0, 10, 50)
    results = [_result(0, "lightgbm", y.copy(), y), _result(1, "ridge", y + 3, y)]
    assert select_ensemble(_problem(y), results, next_id=2) is None
    cancel = [_result(0, "lightgbm", y + 1, y), _result(1, "ridge", y - 1, y)]
    assert select_ensemble(_problem(y), cancel, next_id=2, max_member_seconds=0.5) is None


def _ranked(results):
    return sorted(results, key=lambda r: -r.score)


def test_members_are_added_only_within_the_serving_cost_limit():
    y = np.linspace(0, 10, 50)
    results = _ranked([_result(0, "lightgbm", y + 1.0, y, us=3.0), _result(1, "random_forest", y - 1.0, y, us=40.0),
                       _result(2, "ridge", y - 1.5, y, us=0.5)])
    free = select_ensemble(_problem(y), results, next_id=3, max_us=None)
    assert free is not None and free.trial.params["members"] == [0, 1]
    assert free.serving_us == pytest.approx(43.2)
    cheap = select_ensemble(_problem(y), results, next_id=3, max_us=10.0)
    assert cheap is not None and cheap.trial.params["members"] == [0, 2]  # the forest does not fit
    assert cheap.serving_us <= 10.0 and cheap.value > free.value  # a little worse, 12x cheaper


def test_an_ensemble_may_cost_twice_its_best_trial():
    y = np.linspace(0, 10, 50)
    results = _ranked([_result(0, "random_forest", y + 0.9, y, us=30.0), _result(1, "lightgbm", y + 1.0, y, us=8.0),
                       _result(2, "xgboost", y - 1.0, y, us=8.0)])
    combined = select_ensemble(_problem(y), results, next_id=3, max_us=10.0)
    assert combined is not None and 0 in combined.trial.params["members"]  # the forest and a booster: 38 µs of 60
    assert 30.0 < combined.serving_us <= 60.0
    results[0].serving_us = 4.0  # now every pair costs over max(10, 2 × 4) µs
    assert select_ensemble(_problem(y), results, next_id=3, max_us=10.0) is None


def test_max_serving_us_caps_the_ensemble_too():
    assert cost_limit(8.0, 10.0) == 16.0 and cost_limit(8.0, None) is None
    assert cost_limit(8.0, 10.0, ceiling=12.0) == 12.0 and cost_limit(8.0, None, ceiling=12.0) == 12.0
    y = np.linspace(0, 10, 50)
    results = _ranked([_result(0, "random_forest", y + 0.9, y, us=30.0), _result(1, "lightgbm", y + 1.0, y, us=8.0),
                       _result(2, "xgboost", y - 1.0, y, us=8.0)])
    combined = select_ensemble(_problem(y), results, next_id=3, max_us=10.0, ceiling=20.0)
    assert combined is not None and combined.trial.params["members"] == [1, 2] and combined.serving_us <= 20.0


def test_of_near_equal_picks_the_cheaper_wins():
    y = np.linspace(0, 10, 50)
    twin = y + 1.0
    results = [_result(0, "random_forest", twin, y, us=30.0), _result(1, "lightgbm", twin + 1e-4, y, us=2.0),
               _result(2, "ridge", y - 0.5, y, us=0.5)]
    combined = select_ensemble(_problem(y), results, next_id=3, max_us=None)
    assert combined is not None and combined.trial.params["members"] == [1, 2]  # not the forest, its dear twin


def test_every_member_kept_brings_at_least_the_minimum_gain():
    rng = np.random.default_rng(0)
    y = np.linspace(0, 10, 200)
    results = _ranked([_result(i, f"family{i}", y + rng.normal(0, 1 + 0.2 * i, y.size), y, us=1.0 + i)
                       for i in range(6)])
    combined = select_ensemble(_problem(y), results, next_id=6, max_us=None)
    assert combined is not None and combined.value < min(r.value for r in results)
    members, weights = combined.trial.params["members"], combined.trial.params["weights"]
    preds = {r.trial.id: r.predictions for r in results}

    def rmse(ids, ws):
        mean = sum(w * preds[i] for i, w in zip(ids, ws)) / sum(ws)
        return float(np.sqrt(np.mean((mean - y) ** 2)))

    assert rmse(members, weights) == pytest.approx(combined.value)
    for k in range(len(members)):
        without = rmse(members[:k] + members[k + 1:], weights[:k] + weights[k + 1:])
        assert without > combined.value * (1 + MIN_GAIN)  # dropping any member costs more than MIN_GAIN
