"""ETS, ARIMA, Theta and their best-of per series: caching, refits, fallbacks, covariates, deadline."""

import time

import numpy as np
import pandas as pd
import pytest

from podium.candidates import candidate_registry, fit_deadline
from podium.candidates.statistical import seasonal_naive_values
from podium.data.series import FORECAST, SERIES, TIME, VALUE, SeriesLayout
from podium.errors import SpecError

LAYOUT = SeriesLayout(time_column="month", target="y", horizon=4, freq="MS", season_length=12)


def _series(sid, values, start="2015-01-01", **covariates):
    frame = pd.DataFrame({SERIES: sid, TIME: pd.date_range(start, periods=len(values), freq="MS"),
                          VALUE: np.asarray(values, dtype=float)})
    return frame.assign(**covariates)


def _seasonal(n, level=100.0, seed=0):
    t = np.arange(n)
    return level + 0.5 * t + 10 * np.sin(2 * np.pi * t / 12) + np.random.default_rng(seed).normal(0, 1, n)


def test_the_training_history_is_answered_from_the_fit_and_another_history_is_refitted():
    train = _series("a", _seasonal(48))
    fitted = candidate_registry.get("ets").estimator("forecast").fit(train, LAYOUT)
    first = fitted.predict(train)
    assert list(first[TIME]) == list(pd.date_range("2019-01-01", periods=4, freq="MS"))
    longer = _series("a", _seasonal(60))
    later = fitted.predict(longer)
    assert list(later[TIME]) == list(pd.date_range("2020-01-01", periods=4, freq="MS"))
    # the forecast follows the given history: about its level a year on (trend 0.5 a month)
    assert abs(later[FORECAST].mean() - first[FORECAST].mean()) == pytest.approx(6.0, abs=3.0)


@pytest.mark.parametrize("name", ["ets", "arima", "theta", "statistical"])
def test_short_histories_fall_back_instead_of_failing(name):
    history = pd.concat([_series("tiny", [5.0, 7.0, 6.0]), _series("no_season", _seasonal(18), start="2017-01-01")],
                        ignore_index=True)
    fitted = candidate_registry.get(name).estimator("forecast").fit(history, LAYOUT)
    answer = fitted.predict(history)
    tiny = answer.loc[answer[SERIES] == "tiny", FORECAST].to_numpy()
    assert np.allclose(tiny, 6.0)  # too short for a model: its last value (no full season)
    assert np.isfinite(answer[FORECAST]).all() and len(answer) == 8


def test_the_best_of_keeps_one_model_per_series_chosen_on_validation_windows():
    panel = pd.concat([_series("a", _seasonal(48)), _series("b", _seasonal(48, level=20.0, seed=1))],
                      ignore_index=True)
    fitted = candidate_registry.get("statistical").estimator("forecast", {"combine": "best", "windows": 1})
    fitted = fitted.fit(panel, LAYOUT)
    assert set(fitted.chosen_) == {"a", "b"}
    assert set(fitted.chosen_.values()) <= {"ets", "arima", "theta"}
    mean = candidate_registry.get("statistical").estimator("forecast", {"combine": "mean"}).fit(panel, LAYOUT)
    assert set(mean.chosen_.values()) == {"mean"}
    either = candidate_registry.get("statistical").estimator(
        "forecast", {"combine": "best_or_mean", "models": ("ets", "theta"), "windows": 1}).fit(panel, LAYOUT)
    assert set(either.chosen_.values()) <= {"ets", "theta", "mean"}


def test_past_the_deadline_the_remaining_series_get_the_seasonal_naive_forecast():
    train = _series("a", _seasonal(48))
    with fit_deadline(time.time() - 1):
        fitted = candidate_registry.get("arima").estimator("forecast").fit(train, LAYOUT)
    assert fitted.chosen_ == {"a": "naive"}
    expected = seasonal_naive_values(train[VALUE].to_numpy(), 12, 4)
    assert np.allclose(fitted.predict(train)[FORECAST], expected)


def test_arima_uses_the_known_future_covariates_when_given_them():
    rng = np.random.default_rng(3)
    promo = (rng.random(64) < 0.3).astype(float)
    promo[-4:] = [1.0, 0.0, 1.0, 0.0]
    y = 50 + 20 * promo + rng.normal(0, 1, 64)
    layout = SeriesLayout(time_column="month", target="y", horizon=4, freq="MS", season_length=1,
                          known_future=("promo",))
    panel = _series("a", y, promo=promo)
    train, future = panel.iloc[:60], panel.iloc[60:][[SERIES, TIME, "promo"]]
    fitted = candidate_registry.get("arima").estimator("forecast").fit(train, layout)
    forecast = fitted.predict(train, future.iloc[::-1])[FORECAST].to_numpy()  # matched by time, not position
    assert forecast[0] - forecast[1] == pytest.approx(20.0, abs=4.0)
    assert np.allclose(fitted.predict(train, future)[FORECAST], forecast)  # answered from the kept forecast
    without = fitted.predict(train)[FORECAST].to_numpy()  # no covariates given: univariate
    assert abs(without[0] - without[1]) < 5.0


def test_a_malformed_ets_model_is_refused_by_name():
    with pytest.raises(SpecError, match="ets: model"):
        candidate_registry.get("ets").validate({"model": "XYZ"})
