"""The LightGBM lag forecaster: features read no future, covariates and levels carry, fallbacks."""

import time

import numpy as np
import pandas as pd
import pytest

from podium.candidates import candidate_registry, fit_deadline
from podium.candidates.lag_boosting import _Shape, lag_features
from podium.data.series import FORECAST, SERIES, TIME, VALUE, SeriesLayout


def _series(sid, values, **covariates):
    return pd.DataFrame({SERIES: sid, TIME: pd.date_range("2015-01-05", periods=len(values), freq="W-MON"),
                         VALUE: np.asarray(values, dtype=float), **covariates})


def test_the_features_of_an_origin_read_nothing_after_it():
    shape = _Shape(horizon=5, season=4, lags=6, windows=(4, 8), covariates=(), log=False)
    y = np.random.default_rng(0).normal(size=40)
    origins, steps = np.repeat(np.arange(30), 5), np.tile(np.arange(1, 6), 30)
    before = lag_features(y, origins, steps, shape)
    for t in (0, 3, 10, 29):
        changed = y.copy()
        changed[t + 1:] = 1e6  # everything after the origin replaced
        rows = origins == t
        assert np.allclose(lag_features(changed, origins, steps, shape)[rows], before[rows], equal_nan=True)
    # and lags before the start of the series are missing, not made up
    assert np.isnan(before[origins == 0][:, 1:7]).all()


def _promo_panel(n=80, seed=0):
    rng = np.random.default_rng(seed)
    parts = []
    for i, level in enumerate((10.0, 50.0, 200.0)):
        promo = (rng.random(n) < 0.3).astype(float)
        promo[-4:] = [1.0, 0.0, 1.0, 0.0]
        y = level * (1 + 0.3 * promo) + rng.normal(0, level * 0.01, n)
        parts.append(_series(f"s{i}", y, promo=promo))
    layout = SeriesLayout(time_column="week", target="y", horizon=4, freq="W-MON", season_length=1,
                          series_id="store", known_future=("promo",))
    panel = pd.concat(parts, ignore_index=True)
    last = panel.groupby(SERIES).cumcount(ascending=False) < 4
    return panel[~last].reset_index(drop=True), panel[last][[SERIES, TIME, "promo"]].reset_index(drop=True), layout


def test_known_future_covariates_move_the_forecast_at_their_steps():
    train, future, layout = _promo_panel()
    fitted = candidate_registry.get("lightgbm_lags").estimator("forecast", {"min_child_samples": 5}).fit(train, layout)
    answer = fitted.predict(train, future.sample(frac=1.0, random_state=1))  # matched by time, not position
    for sid, level in (("s0", 10.0), ("s2", 200.0)):
        f = answer.loc[answer[SERIES] == sid, FORECAST].to_numpy()
        assert f[0] > f[1] + 0.15 * level and f[2] > f[3] + 0.15 * level


def test_a_series_never_seen_is_forecast_at_its_own_level():
    train, future, layout = _promo_panel()
    fitted = candidate_registry.get("lightgbm_lags").estimator("forecast", {"min_child_samples": 5}).fit(train, layout)
    unseen = train[train[SERIES] == "s1"].assign(**{SERIES: "new", VALUE: lambda f: f[VALUE] * 1000})
    ahead = future[future[SERIES] == "s1"].assign(**{SERIES: "new"})
    f = fitted.predict(unseen, ahead)[FORECAST].to_numpy()
    assert f.mean() == pytest.approx(50_000 * 1.15, rel=0.1)


def test_short_histories_and_a_passed_deadline_still_answer():
    train, future, layout = _promo_panel()
    fitted = candidate_registry.get("lightgbm_lags").estimator("forecast").fit(train, layout)
    short = pd.concat([_series("one", [7.0], promo=[0.0]), _series("three", [5.0, 6.0, 7.0], promo=[0.0] * 3),
                       _series("flat", [4.0] * 30, promo=[0.0] * 30)])
    answer = fitted.predict(short, None)
    assert np.allclose(answer.loc[answer[SERIES] == "one", FORECAST], 7.0)
    assert np.allclose(answer.loc[answer[SERIES] == "flat", FORECAST], 4.0)  # nothing ever changed
    assert np.isfinite(answer[FORECAST]).all() and len(answer) == 12
    with fit_deadline(time.time() - 1):
        late = candidate_registry.get("lightgbm_lags").estimator("forecast").fit(train, layout)
    last = train.groupby(SERIES)[VALUE].last()
    answer = late.predict(train, future)
    assert np.allclose(answer.groupby(SERIES)[FORECAST].first(), last)  # no model: each series' last value
