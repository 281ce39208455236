"""Conformance checks for plugin authors: does my candidate, step or source keep podium's contract?

::

    from podium.testing.checks import check_candidate, check_source, check_transform_step, typed_sample
    check_candidate(my_family)                     # declares, fits, predicts labels/probabilities
                                                   # (or, for forecast, horizon rows per series), pickles
    check_source(lambda: MySource("…"))            # writes a frame, reads the same values back
    check_transform_step(my_step, *typed_sample()) # sklearn contract, and ONNX = transform

Each raises ``AssertionError`` naming the broken promise. podium runs them over its own
built-ins in its test suite.
"""

from __future__ import annotations

import pickle
import random
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from podium.candidates import TASKS, Candidate
from podium.data.series import FORECAST, SERIES, TIME, VALUE, SeriesLayout
from podium.data.source import Source
from podium.data.types import ColumnType
from podium.steps.checks import check_transform_step

__all__ = ["check_candidate", "check_source", "check_transform_step", "sample_frame", "sample_panel",
           "typed_sample"]


def sample_frame(n: int = 120, seed: int = 0) -> pd.DataFrame:
    """A small table with numbers, categories, missing values and three targets."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    frame = pd.DataFrame({
        "x": x,
        "z": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
        "color": rng.choice(["red", "green", "blue"], n),
        "binary": np.where(x > 0, "yes", "no"),
        "multiclass": np.select([x < -0.5, x > 0.5], ["low", "high"], "mid"),
        "regression": 3 * x + rng.normal(0, 0.1, n),
    })
    return frame


def typed_sample(n: int = 60, seed: int = 0) -> tuple[pd.DataFrame, dict[str, ColumnType]]:
    """A typed frame as transform steps get it (every kind, some missing) and its column kinds.

    Numeric and boolean columns are float64 (NaN missing), dates float64 seconds since the
    epoch, categories str ("" missing), as ``InputSchema.typed`` gives them.
    """
    rng = np.random.default_rng(seed)
    amount = rng.normal(100, 20, n)
    amount[::7] = np.nan
    member = (rng.random(n) > 0.5).astype(np.float64)
    member[::11] = np.nan
    city = rng.choice(["paris", "lyon", "nice", "lille", "caen"], n, p=[0.4, 0.3, 0.2, 0.07, 0.03]).astype(object)
    city[::9] = ""
    signup = 1.6e9 + rng.uniform(0, 3e7, n)
    signup[::13] = np.nan
    frame = pd.DataFrame({"amount": amount, "member": member, "city": city, "signup": signup})
    kinds = {"amount": ColumnType.NUMERIC, "member": ColumnType.BOOLEAN, "city": ColumnType.CATEGORICAL,
             "signup": ColumnType.DATETIME}
    return frame, kinds


def _numeric(frame: pd.DataFrame) -> np.ndarray:
    codes = frame["color"].map({"red": 0.0, "green": 1.0, "blue": 2.0})
    return np.column_stack([frame["x"], frame["z"].fillna(0.0), codes])


def check_candidate(candidate: Candidate) -> None:
    """What the family declares holds together (a name, known tasks, a default preset, a search
    space and presets its parameter model accepts), and for every task it declares: it builds
    from its default and a search draw, fits, predicts the training labels' type, gives one
    probability per class, and pickles."""
    frame = sample_frame()
    X = _numeric(frame)
    assert isinstance(candidate, Candidate), f"{candidate!r} is not a podium.candidates.Candidate"
    assert candidate.name.isidentifier() and candidate.name == candidate.name.lower(), \
        f"{candidate.name!r}: a name is a lowercase identifier (it is written in specs)"
    assert candidate.tasks, f"{candidate.name}: declares no task"
    unknown = sorted(set(candidate.tasks) - set(TASKS))
    assert not unknown, f"{candidate.name}: unknown tasks {unknown} (podium knows {', '.join(TASKS)})"
    assert candidate.presets, f"{candidate.name}: needs at least one preset (the default)"
    if candidate.params is not None:
        fields = set(candidate.params.model_fields)
        outside = sorted(set(candidate.space) - fields)
        assert not outside, f"{candidate.name}: search space names {outside}, not in its parameter model"
        for preset in candidate.presets:
            try:
                candidate.validate(preset)
            except Exception as exc:
                raise AssertionError(f"{candidate.name}: preset {dict(preset)} is refused: {exc}") from exc
    draws = candidate.configurations(random.Random(0))
    configs = [next(draws)]
    if candidate.space:  # skip the other presets: the first random draw
        configs.append(next(d for i, d in enumerate(draws) if i >= len(candidate.presets) - 1))
    for task in sorted(candidate.tasks):
        if task == "forecast":
            for params in configs:
                _check_forecaster(candidate, params)
            continue
        y = frame[task].to_numpy()
        for params in configs:
            try:
                fitted = clone(candidate.estimator(task, params, seed=0)).fit(X, y)
            except Exception as exc:
                raise AssertionError(f"{candidate.name}/{task}: fitting {params} failed: {exc}") from exc
            pred = fitted.predict(X)
            assert len(pred) == len(X), f"{candidate.name}/{task}: one prediction per row"
            proba = None
            if task == "regression":
                assert np.isfinite(np.asarray(pred, dtype=float)).all(), f"{candidate.name}: finite values"
            else:
                assert set(pred) <= set(y), f"{candidate.name}/{task}: predicts the training labels"
                proba = fitted.predict_proba(X)
                assert proba.shape == (len(X), len(set(y))), f"{candidate.name}/{task}: a probability per class"
                assert np.allclose(proba.sum(axis=1), 1.0), f"{candidate.name}/{task}: probabilities sum to 1"
            # like with like: the same rows in one batch (BLAS rounds differently per batch size)
            again = pickle.loads(pickle.dumps(fitted))
            _assert_same_predictions(again, X, pred, proba, task, f"{candidate.name}/{task}")


def sample_panel(n_series: int = 3, length: int = 60, seed: int = 0) -> tuple[pd.DataFrame, SeriesLayout]:
    """Monthly series with trend, a yearly season, noise and one known-future covariate, in the
    long layout, with the layout that forecasts them 6 months ahead."""
    rng = np.random.default_rng(seed)
    parts = []
    for i in range(n_series):
        t = np.arange(length)
        promo = (rng.random(length) < 0.2).astype(float)
        y = 50 + 10 * i + 0.3 * t + 8 * np.sin(2 * np.pi * t / 12) + 5 * promo + rng.normal(0, 1, length)
        parts.append(pd.DataFrame({SERIES: f"s{i}", TIME: pd.date_range("2018-01-01", periods=length, freq="MS"),
                                   VALUE: y, "promo": promo}))
    layout = SeriesLayout(time_column="month", target="sales", horizon=6, freq="MS", season_length=12,
                          series_id="store", known_future=("promo",))
    return pd.concat(parts, ignore_index=True), layout


def _check_forecaster(candidate: Candidate, params: dict[str, Any]) -> None:
    where = f"{candidate.name}/forecast"
    panel, layout = sample_panel()
    h = layout.horizon
    cut = panel.groupby(SERIES).cumcount(ascending=False) >= h  # the last h points of each series held out
    train, future = panel[cut].reset_index(drop=True), panel[~cut].reset_index(drop=True)
    covariates = future[[SERIES, TIME, *layout.known_future]]
    try:
        fitted = candidate.estimator("forecast", params, seed=0).fit(train, layout)
    except Exception as exc:
        raise AssertionError(f"{where}: fitting {params} failed: {exc}") from exc
    answer = fitted.predict(train, covariates)
    assert list(answer.columns[:3]) == [SERIES, TIME, FORECAST], f"{where}: answers {SERIES}, {TIME}, {FORECAST}"
    expected = layout.future_times(train)
    assert len(answer) == len(expected), f"{where}: {h} rows per series"
    assert (answer[SERIES].to_numpy() == expected[SERIES].to_numpy()).all(), f"{where}: series in the history's order"
    assert (answer[TIME].to_numpy() == expected[TIME].to_numpy()).all(), f"{where}: the next {h} timestamps"
    values = answer[FORECAST].to_numpy(dtype=float)
    assert np.isfinite(values).all(), f"{where}: finite forecasts"
    # a history it never saw (one series, shorter): a service's request
    unseen = train[train[SERIES] == "s1"].iloc[-36:].assign(**{SERIES: "new"})
    other = fitted.predict(unseen, covariates[covariates[SERIES] == "s1"].assign(**{SERIES: "new"}))
    assert len(other) == h and (other[SERIES] == "new").all(), f"{where}: forecasts a series it never saw"
    assert np.isfinite(other[FORECAST].to_numpy(dtype=float)).all(), f"{where}: finite forecasts for a new series"
    again = pickle.loads(pickle.dumps(fitted)).predict(train, covariates)
    assert np.allclose(again[FORECAST].to_numpy(dtype=float), values, rtol=1e-5, atol=1e-6), \
        f"{where}: the same forecasts after pickling"


def _assert_same_predictions(model: Any, X: np.ndarray, pred: Any, proba: Any, task: str, where: str) -> None:
    """The unpickled model predicts what the fitted one did: equal labels, numbers within tolerance."""
    again = np.asarray(model.predict(X))
    if task == "regression":
        same = np.allclose(again.astype(float), np.asarray(pred, dtype=float), rtol=1e-6, atol=1e-9)
    else:
        same = np.array_equal(again, np.asarray(pred)) and np.allclose(
            model.predict_proba(X), proba, rtol=1e-6, atol=1e-9)
    assert same, f"{where}: a pickle round trip changes predictions"


def check_source(make: Callable[[], Source], frame: pd.DataFrame | None = None) -> None:
    """A source writes a frame and reads back the same columns and values; it describes
    itself without secrets; its fingerprint follows its content."""
    frame = frame if frame is not None else sample_frame(20)[["x", "color", "regression"]]
    source = make()
    assert isinstance(source, Source), "the factory must return a podium.data.Source"
    source.write(frame)
    back = make().read()
    assert list(back.columns)[: len(frame.columns)] == list(frame.columns) or \
        set(frame.columns) <= set(back.columns), "read() returns the written columns"
    assert len(back) == len(frame), "read() returns every written row"
    for column in frame.columns:
        got, want = back[column], frame[column]
        if pd.api.types.is_numeric_dtype(want):
            assert np.allclose(pd.to_numeric(got).to_numpy(), want.to_numpy()), f"values of '{column}'"
        else:
            assert got.astype(str).tolist() == want.astype(str).tolist(), f"values of '{column}'"
    first = make().fingerprint()
    assert first == make().fingerprint(), "the fingerprint is stable while the content is"
    make().write(frame.head(len(frame) - 1))
    assert make().fingerprint() != first, "the fingerprint changes with the content"
    assert ":***@" in make().describe() or "@" not in make().describe(), "describe() hides passwords"
