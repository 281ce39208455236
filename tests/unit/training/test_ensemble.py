import numpy as np
import pandas as pd

from podium.training import Problem, Trial, TrialResult, get_metric
from podium.training.ensemble import ENSEMBLE, select_ensemble


def _problem(y):
    frame = pd.DataFrame({"x": np.arange(len(y), dtype=float)})
    return Problem(X_train=frame, y_train=pd.Series(y), X_test=frame, y_test=pd.Series(y),
                   task="regression", metric=get_metric("rmse", "regression"), column_types={})


def _result(i, name, pred, y):
    rmse = float(np.sqrt(np.mean((pred - y) ** 2)))
    return TrialResult(Trial(i, name, {}, 0), "ok", value=rmse, score=-rmse, predictions=pred, fit_seconds=1.0)


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
