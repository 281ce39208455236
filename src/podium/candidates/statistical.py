"""Statistical forecasters through statsforecast: ETS, ARIMA, Theta, and the best of them per series.

These are local models: each series gets its own model, fitted on its own history. ``fit``
fits every training series and keeps its forecast; ``predict`` answers from that cache when it
is given the very history it was fitted on, and refits on any other history (a longer one, a
series never seen). Nothing of statsforecast is pickled: a fitted forecaster holds numbers.

- ``ets``: ``AutoETS`` (error, trend and season chosen by AICc; damped trends allowed);
- ``arima``: ``AutoARIMA`` (orders chosen by a stepwise search); the known-future covariates, when
  the forecast is given them, enter as regressors (regression with ARIMA errors);
- ``theta``: ``AutoTheta`` (standard, optimised and dynamic theta variants chosen by in-sample fit);
- ``statistical``: all three per series, averaged, or (``combine: best``) the one with the lowest
  error over a few time-ordered validation windows at the end of its history.

A series too short for a season (fewer than two seasons and a bit) is modelled without one; a
series too short for the model at all, or on which the model fails, falls back to its seasonal
naive forecast (its last value when it has no full season). Past the trial's deadline the
remaining series fall back the same way.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from podium._internal.lazy import require
from podium.candidates.base import Candidate, Choice, Int, Tags, register_candidate
from podium.candidates.deadline import past_deadline
from podium.candidates.forecast import FORECAST_TASK, forecast_frame
from podium.data.series import SERIES, TIME, VALUE, SeriesLayout

__all__ = ["StatisticalForecaster", "seasonal_naive_values", "MODELS"]

ModelName = Literal["ets", "arima", "theta"]
MODELS: tuple[ModelName, ...] = ("ets", "arima", "theta")
#: the fewest points a model is fitted on; shorter series get the seasonal naive forecast
_MIN_POINTS = 6
#: ARIMA reads at most this many of the latest points of a series (unless told otherwise)
_ARIMA_MAX_LENGTH = 600


def _digest(values: np.ndarray | None) -> str:
    return "" if values is None else hashlib.sha1(np.ascontiguousarray(values, dtype=float).tobytes()).hexdigest()


def seasonal_naive_values(y: np.ndarray, season_length: int, horizon: int) -> np.ndarray:
    """The last season repeated over the horizon (the last value when there is no full season)."""
    if len(y) == 0:
        return np.zeros(horizon)
    m = max(1, season_length)
    season = y[-m:] if len(y) >= m else y[-1:]
    return np.resize(season, horizon).astype(float)


class StatisticalForecaster:
    """One statsforecast model (or the best of several) fitted per series; see the module docstring."""

    def __init__(self, models: Sequence[str] = ("ets",), *,
                 combine: Literal["best", "mean", "best_or_mean"] = "best",
                 windows: int = 2, options: Mapping[str, Mapping[str, Any]] | None = None,
                 covariates: bool = True) -> None:
        self.models = tuple(models)
        self.combine = combine
        self.windows = windows
        self.options = {k: dict(v) for k, v in (options or {}).items()}
        self.covariates = covariates

    def fit(self, train: pd.DataFrame, layout: SeriesLayout) -> StatisticalForecaster:
        self.layout = layout
        #: each training history's forecast, with the digest of the future covariates it was made with
        self.cache_: dict[str, tuple[str, np.ndarray] | None] = {}
        self.chosen_: dict[str, str] = {}
        later = bool(self._exog_columns(train))  # the forecast needs the future covariates: predict makes it
        for sid, part in train.groupby(SERIES, sort=False):
            if later:
                self.cache_[self._key(str(sid), part)] = None
                continue
            values, self.chosen_[str(sid)] = self._forecast_or_fallback(part[VALUE].to_numpy(dtype=float), None, None)
            self.cache_[self._key(str(sid), part)] = (_digest(None), values)
        return self

    def predict(self, history: pd.DataFrame, future: pd.DataFrame | None = None) -> pd.DataFrame:
        exog = self._exog_columns(history) if future is not None else []
        futures = dict(tuple(future.groupby(SERIES, sort=False))) if exog and future is not None else {}
        times = self.layout.future_times(history).groupby(SERIES, sort=False)[TIME] if futures else None
        values: dict[str, np.ndarray] = {}
        for sid, part in history.groupby(SERIES, sort=False):
            X = X_future = None
            if futures and times is not None and sid in futures:
                steps = pd.DatetimeIndex(times.get_group(sid))
                ahead = futures[sid].drop_duplicates(TIME).set_index(TIME).reindex(steps)
                if all(c in ahead.columns for c in exog) and not ahead[exog].isna().to_numpy().any() \
                        and not part[exog].isna().to_numpy().any():
                    X = part[exog].to_numpy(dtype=float)
                    X_future = ahead[exog].to_numpy(dtype=float)
            key, given = self._key(str(sid), part), _digest(X_future)
            cached = self.cache_.get(key)
            if cached is not None and cached[0] == given:
                values[sid] = cached[1]
                continue
            values[sid] = self._forecast_or_fallback(part[VALUE].to_numpy(dtype=float), X, X_future)[0]
            if key in self.cache_:  # only the training histories are kept: the cache stays bounded
                self.cache_[key] = (given, values[sid])
        return forecast_frame(self.layout, history, values)

    # -- per series ---------------------------------------------------------------------------

    def _forecast_or_fallback(self, y: np.ndarray, X: np.ndarray | None,
                              X_future: np.ndarray | None) -> tuple[np.ndarray, str]:
        if past_deadline():  # keep what we have: the rest get the seasonal naive forecast
            return seasonal_naive_values(y, self.layout.season_length, self.layout.horizon), "naive"
        return self._forecast_one(y, X, X_future)

    def _forecast_one(self, y: np.ndarray, X: np.ndarray | None,
                      X_future: np.ndarray | None) -> tuple[np.ndarray, str]:
        """The forecast of one series, and the name of the model that made it."""
        h, m = self.layout.horizon, self._season(len(y))
        if len(y) < _MIN_POINTS or not np.isfinite(y).all():
            return seasonal_naive_values(y[np.isfinite(y)], self.layout.season_length, h), "naive"
        names = list(self.models)
        if len(names) > 1 and self.combine != "mean":
            errors = self._validation_errors(y, X, names)
            if errors:
                best = min(errors, key=errors.__getitem__)
                names = [n for n in names if n in errors] if best == "mean" else [best]
        forecasts = [(n, f) for n in names if (f := self._run(n, y, h, m, X, X_future)) is not None]
        if not forecasts:
            return seasonal_naive_values(y, self.layout.season_length, h), "naive"
        if len(forecasts) == 1:
            return forecasts[0][1], forecasts[0][0]
        return np.mean([f for _, f in forecasts], axis=0), "mean"

    def _validation_errors(self, y: np.ndarray, X: np.ndarray | None, names: list[str]) -> dict[str, float]:
        """Mean absolute error of each model (and, for ``best_or_mean``, of their mean) over the
        last ``windows`` horizons of ``y``, each fitted on what comes before its window."""
        h = self.layout.horizon
        errors: dict[str, list[float]] = {n: [] for n in [*names, "mean"]}
        for w in range(self.windows, 0, -1):
            cut = len(y) - w * h
            if cut < max(_MIN_POINTS, 2 * self.layout.season_length):
                continue
            actual = y[cut: cut + h]
            found = {n: self._run(n, y[:cut], h, self._season(cut), None if X is None else X[:cut],
                                  None if X is None else X[cut: cut + h]) for n in names}
            for n, f in found.items():
                errors[n].append(float(np.mean(np.abs(actual - f))) if f is not None else np.inf)
            made = [f for f in found.values() if f is not None]
            errors["mean"].append(float(np.mean(np.abs(actual - np.mean(made, axis=0)))) if made else np.inf)
        if self.combine != "best_or_mean":
            del errors["mean"]
        return {n: float(np.mean(e)) for n, e in errors.items() if e and np.isfinite(np.mean(e))}

    def _run(self, name: str, y: np.ndarray, h: int, m: int,
             X: np.ndarray | None, X_future: np.ndarray | None) -> np.ndarray | None:
        """One model's forecast, or None when it fails or answers something not finite."""
        if X is not None and X_future is not None and name == "arima":
            varies = X.std(axis=0) > 0  # a constant regressor makes the fit singular
            if varies.any():
                found = self._run_plain(name, y, h, m, X[:, varies], X_future[:, varies])
                if found is not None:
                    return found
        return self._run_plain(name, y, h, m)

    def _run_plain(self, name: str, y: np.ndarray, h: int, m: int,
                   X: np.ndarray | None = None, X_future: np.ndarray | None = None) -> np.ndarray | None:
        options = self.options.get(name, {})
        if name == "arima":  # its order search grows fast with the length: the recent past is enough
            keep = int(options.get("max_length", _ARIMA_MAX_LENGTH))
            y, X = y[-keep:], None if X is None else X[-keep:]
        model = _MODELS[name](m, len(y), options)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = model.forecast(y=y, h=h, X=X, X_future=X_future)
        except Exception:  # statsforecast raises many kinds on degenerate series: fall back
            return None
        mean = np.asarray(out["mean"], dtype=float)
        return mean if mean.shape == (h,) and np.isfinite(mean).all() else None

    def _season(self, n: int) -> int:
        m = max(1, self.layout.season_length)
        return m if n >= 2 * m + 2 else 1

    def _exog_columns(self, frame: pd.DataFrame) -> list[str]:
        if not self.covariates or "arima" not in self.models:
            return []
        return [c for c in self.layout.known_future
                if c in frame.columns and pd.api.types.is_numeric_dtype(frame[c])]

    @staticmethod
    def _key(sid: str, part: pd.DataFrame) -> str:
        digest = hashlib.sha1(part[VALUE].to_numpy(dtype=float).tobytes())
        digest.update(part[TIME].to_numpy(dtype="datetime64[ns]").tobytes())
        return f"{sid}\x00{digest.hexdigest()}"


def _ets(m: int, n: int, options: Mapping[str, Any]) -> Any:
    models = require("statsforecast.models", extra="forecast")
    return models.AutoETS(season_length=m, model=options.get("model", "ZZZ"), damped=options.get("damped"))


def _arima(m: int, n: int, options: Mapping[str, Any]) -> Any:
    models = require("statsforecast.models", extra="forecast")
    approximation = options.get("approximation")
    if approximation is None:  # exact likelihoods cost little but on long seasons (24 hours: a minute)
        approximation = n > 400 or m > 12
    return models.AutoARIMA(season_length=m, max_p=options.get("max_p", 5), max_q=options.get("max_q", 5),
                            stepwise=options.get("stepwise", True), approximation=approximation)


def _theta(m: int, n: int, options: Mapping[str, Any]) -> Any:
    models = require("statsforecast.models", extra="forecast")
    return models.AutoTheta(season_length=m, decomposition_type=options.get("decomposition", "multiplicative"),
                            model=options.get("model"))


#: name -> (season length, series length, options) -> an unfitted statsforecast model
_MODELS: dict[str, Callable[[int, int, Mapping[str, Any]], Any]] = {"ets": _ets, "arima": _arima, "theta": _theta}


# -- the candidates ---------------------------------------------------------------------------

class ETSParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: error, trend, season: each A(dditive), M(ultiplicative), N(one) or Z (chosen by AICc)
    model: str = Field("ZZZ", pattern=r"^[ZAM][ZANM][ZANM]$")
    damped: bool | None = None


class ARIMAParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_p: int = Field(5, ge=0, le=10)
    max_q: int = Field(5, ge=0, le=10)
    stepwise: bool = True
    #: the sum of squares instead of the exact likelihood while searching; None: when the series
    #: is longer than 400 points or its season longer than 12
    approximation: bool | None = None
    #: the latest points the model is fitted on (the order search slows down fast with length)
    max_length: int = Field(_ARIMA_MAX_LENGTH, ge=10)
    #: the known-future covariates as regressors when the forecast is given them
    covariates: bool = True


class ThetaParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decomposition: Literal["multiplicative", "additive"] = "multiplicative"
    #: None: chosen among STM, OTM, DSTM, DOTM by in-sample fit
    model: Literal["STM", "OTM", "DSTM", "DOTM"] | None = None


class BestParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    models: tuple[ModelName, ...] = Field(MODELS, min_length=1)
    #: "mean": the models' average (measured the surest); "best": each series keeps the model with
    #: the lowest validation error; "best_or_mean": the best of the models and their average
    combine: Literal["mean", "best", "best_or_mean"] = "mean"
    #: validation windows of one horizon each, at the end of each series' history
    windows: int = Field(2, ge=1, le=10)
    #: ARIMA's known-future covariates as regressors, when the forecast is given them
    covariates: bool = True


def _build_ets(task: str, params: Mapping[str, Any], seed: int) -> StatisticalForecaster:
    return StatisticalForecaster(("ets",), options={"ets": params})


def _build_arima(task: str, params: Mapping[str, Any], seed: int) -> StatisticalForecaster:
    options = {k: v for k, v in params.items() if k != "covariates"}
    return StatisticalForecaster(("arima",), options={"arima": options}, covariates=bool(params["covariates"]))


def _build_theta(task: str, params: Mapping[str, Any], seed: int) -> StatisticalForecaster:
    return StatisticalForecaster(("theta",), options={"theta": params})


def _build_best(task: str, params: Mapping[str, Any], seed: int) -> StatisticalForecaster:
    return StatisticalForecaster(tuple(params["models"]), combine=params["combine"], windows=params["windows"],
                                 covariates=params["covariates"])


_TAGS = Tags(input="sequence", respects_deadline=True)
_TASKS = frozenset({FORECAST_TASK})

ets = register_candidate(Candidate(
    name="ets",
    tasks=_TASKS,
    build=_build_ets,
    presets=({},),
    space={"model": Choice(("ZZZ", "ZZA", "AZN", "MZM", "ZAZ")), "damped": Choice((None, True, False))},
    tags=_TAGS,
    params=ETSParams,
    summary="exponential smoothing per series (statsforecast AutoETS: error, trend, season by AICc)",
))

arima = register_candidate(Candidate(
    name="arima",
    tasks=_TASKS,
    build=_build_arima,
    presets=({},),
    space={"max_p": Int(1, 5), "max_q": Int(1, 5), "approximation": Choice((None, True)),
           "covariates": Choice((True, False))},
    tags=_TAGS,
    params=ARIMAParams,
    summary="ARIMA per series (statsforecast AutoARIMA), known-future covariates as regressors",
))

theta = register_candidate(Candidate(
    name="theta",
    tasks=_TASKS,
    build=_build_theta,
    presets=({},),
    space={"decomposition": Choice(("multiplicative", "additive")),
           "model": Choice((None, "STM", "OTM", "DSTM", "DOTM"))},
    tags=_TAGS,
    params=ThetaParams,
    summary="Theta per series (statsforecast AutoTheta: standard, optimised or dynamic)",
))

statistical = register_candidate(Candidate(
    name="statistical",
    tasks=_TASKS,
    build=_build_best,
    presets=({}, {"combine": "best"}),
    space={"combine": Choice(("best", "mean", "best_or_mean")), "windows": Int(1, 3),
           "models": Choice((MODELS, ("ets", "theta"), ("ets", "arima")))},
    tags=_TAGS,
    params=BestParams,
    summary="ETS, ARIMA and Theta per series: their mean, or the best by time-ordered validation windows",
))
