"""The LSTM/GRU forecasters: how they cut windows, stop, fall back and repeat themselves."""

import time

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch")

from podium.candidates import candidate_registry, fit_deadline  # noqa: E402
from podium.candidates.recurrent import RecurrentForecaster, windows  # noqa: E402
from podium.data.series import FORECAST, SERIES, TIME, VALUE  # noqa: E402
from podium.testing.checks import sample_panel  # noqa: E402

TINY = {"hidden_size": 8, "max_epochs": 3, "patience": 2}


def _split(panel, h):
    cut = panel.groupby(SERIES).cumcount(ascending=False) >= h
    return panel[cut].reset_index(drop=True), panel[~cut].reset_index(drop=True)


def test_windows_never_show_the_target_in_the_input():
    values = np.arange(30.0)
    inputs, targets = windows(values, window=8, horizon=5)
    assert inputs.shape == (18, 8) and targets.shape == (18, 5)
    assert (inputs.max(axis=1) < targets.min(axis=1)).all()
    assert np.array_equal(targets[:, 0], inputs[:, -1] + 1)  # the target starts right after the input
    assert windows(values[:12], window=8, horizon=5)[0].shape == (0, 8)


def test_training_windows_end_before_the_validation_slice_and_it_is_the_latest():
    panel, layout = sample_panel(n_series=2, length=60)
    panel[VALUE] = panel.groupby(SERIES).cumcount().astype(float) + 1.0  # each value is its position
    model = RecurrentForecaster("gru", {**TINY, "window": 12})
    model.layout, model.season_, model.covariates_ = layout, 12, ()
    model.cov_mean_ = model.cov_std_ = np.zeros(0)
    model.origin_, model.window_ = pd.Timestamp(panel[TIME].min()), 12
    train, valid, every = model._training_windows(model._series(panel))
    h = layout.horizon
    assert train[1].max() < valid[1].min()  # no training target reaches the validation targets
    assert valid[1].max() == 60  # the validation targets are the last points
    assert (train[0].max(axis=1) < train[1].min(axis=1)).all() and (valid[0].max(axis=1) < valid[1].min(axis=1)).all()
    assert every[1].shape[1] == h and len(every[0]) > len(train[0]) + len(valid[0]) - 1


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_a_fit_is_repeatable_with_its_seed_and_uses_known_future_covariates(cell):
    panel, layout = sample_panel(n_series=2, length=48)
    train, future = _split(panel, layout.horizon)
    covariates = future[[SERIES, TIME, "promo"]]
    first = candidate_registry.get(cell).estimator("forecast", TINY, seed=3).fit(train, layout)
    again = candidate_registry.get(cell).estimator("forecast", TINY, seed=3).fit(train, layout)
    a, b = first.predict(train, covariates), again.predict(train, covariates)
    assert np.allclose(a[FORECAST], b[FORECAST], rtol=0, atol=1e-9)
    promo = covariates.assign(promo=1.0 - covariates["promo"])
    assert not np.allclose(first.predict(train, promo)[FORECAST], a[FORECAST])


def test_the_deadline_stops_training_with_a_usable_model():
    panel, layout = sample_panel(n_series=2, length=48)
    train, _ = _split(panel, layout.horizon)
    with fit_deadline(time.time() - 1):
        model = candidate_registry.get("lstm").estimator(
            "forecast", {"max_epochs": 500, "members": 3}, seed=0).fit(train, layout)
    assert model.epochs_ == 1 and len(model.validation_curve_) == 1
    assert len(model.states_) == 1  # no member started past the deadline
    assert np.isfinite(model.predict(train)[FORECAST]).all()


def test_members_are_averaged():
    panel, layout = sample_panel(n_series=2, length=48)
    train, _ = _split(panel, layout.horizon)
    pair = RecurrentForecaster("gru", {**TINY, "members": 2}, seed=0).fit(train, layout)
    assert len(pair.states_) == 2
    alone = [RecurrentForecaster("gru", TINY, seed=s).fit(train, layout).predict(train)[FORECAST] for s in (0, 1000)]
    assert np.allclose(pair.predict(train)[FORECAST], (alone[0] + alone[1]) / 2, atol=1e-5)


def test_a_history_shorter_than_the_window_gets_the_seasonal_naive_forecast():
    panel, layout = sample_panel(n_series=2, length=48)
    train, _ = _split(panel, layout.horizon)
    model = candidate_registry.get("gru").estimator("forecast", {**TINY, "window": 24}, seed=0).fit(train, layout)
    short = train[train[SERIES] == "s0"].iloc[-15:]
    answer = model.predict(short)
    assert np.allclose(answer[FORECAST], short[VALUE].to_numpy()[-12:][:layout.horizon])


def test_series_too_short_for_any_window_fall_back_entirely():
    panel, layout = sample_panel(n_series=1, length=20)
    model = RecurrentForecaster("lstm", {**TINY, "window": 16}).fit(panel, layout)
    assert model.states_ == []
    assert len(model.predict(panel)) == layout.horizon
