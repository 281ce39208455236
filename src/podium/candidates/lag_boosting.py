"""LightGBM forecasting on lags, rolling windows and calendar features: one global model, direct.

**Direct, not recursive.** One LightGBM model is trained over all series and all steps ahead at
once: a training row is (a series, an origin ``t``, a step ``k`` in 1…horizon), its features
are read from the history up to ``t`` only, plus what is known about the target time ``t + k``
(its calendar, the known-future covariates there, ``k`` itself), and its target is
``y[t + k]``. A forecast is one row per step from the last observed point: no forecast is fed
back as an input, so errors do not compound, and one model serves every step.

**Per-series scaling, relative to the last value.** Every value a row holds — the lags, the
seasonal lags of the target time, the rolling means — is taken relative to the origin's value
``y[t]`` and divided by the series' scale (its mean absolute one-step change), and so is the
target. The trees then learn changes in units of each series' own noise: series of any level
share one model, and a series never seen, or a level never seen, is forecast as well as the
training ones. With ``transform: log`` (positive series only) the same happens on the log of
the values, which turns multiplicative seasons into additive ones.

Early stopping reads a time-ordered validation slice (the rows whose target lies in the last
horizon of each series), then the model is refitted on all rows with that number of trees; the
trial's deadline stops boosting and keeps the trees grown so far. On a run whose device is cuda
it trains on the GPU when LightGBM's build has CUDA (the pip wheel has not: it stays on the CPU).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from podium._internal.lazy import require
from podium.candidates.base import Candidate, Choice, Float, Int, Tags, register_candidate
from podium.candidates.deadline import past_deadline
from podium.candidates.device import booster_device_params, current_device
from podium.candidates.forecast import FORECAST_TASK, forecast_frame
from podium.data.series import SERIES, TIME, VALUE, SeriesLayout

__all__ = ["LagBoostingForecaster", "LagBoostingParams", "lag_features"]

_MAX_TREES = 1000
_PATIENCE = 50
_CALENDAR = ("month", "quarter", "dayofweek", "day", "dayofyear", "hour")


class LagBoostingParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: recent lags read at each origin; 0: twice the season (at least 8)
    lags: int = Field(0, ge=0, le=400)
    #: rolling-mean windows (points before the origin); empty: one and two seasons
    windows: tuple[int, ...] = ()
    transform: Literal["none", "log"] = "none"
    learning_rate: float = Field(0.05, gt=0.0, le=1.0)
    num_leaves: int = Field(31, ge=2, le=1024)
    min_child_samples: int = Field(20, ge=1)
    colsample_bytree: float = Field(0.8, gt=0.0, le=1.0)
    subsample: float = Field(0.8, gt=0.0, le=1.0)
    reg_lambda: float = Field(0.0, ge=0.0)
    objective: Literal["l2", "l1", "huber"] = "l2"
    #: training rows kept at most (the most recent origins of each series)
    max_rows: int = Field(200_000, ge=1000)


@dataclass(frozen=True)
class _Shape:
    """What the features of a fitted model are made of (fixed at fit, reused at predict)."""

    horizon: int
    season: int
    lags: int
    windows: tuple[int, ...]
    covariates: tuple[str, ...]
    log: bool


def lag_features(y: np.ndarray, origins: np.ndarray, steps: np.ndarray, shape: _Shape) -> np.ndarray:
    """The history part of the rows (one per ``origins[i]``, ``steps[i]``): only ``y[: origin + 1]`` is read.

    ``y`` is one series, already transformed and divided by its scale. Columns: the step, the
    lags ``y[t - j] - y[t]`` (j = 1…lags), the two most recent values of the target's season
    minus ``y[t]``, and per window the mean of the last ``w`` values minus ``y[t]`` and their spread.
    """
    t, k, m = origins, steps, shape.season
    last = y[t]

    def at(index: np.ndarray) -> np.ndarray:
        ok = (index >= 0) & (index <= t)
        return np.where(ok, y[np.clip(index, 0, None)], np.nan)

    columns = [k.astype(float)]
    columns += [at(t - j) - last for j in range(1, shape.lags + 1)]
    back = -(-k // m) * m  # the smallest multiple of the season reaching back from t + k to t or before
    columns += [at(t + k - back) - last, at(t + k - back - m) - last]
    csum = np.concatenate([[0.0], np.cumsum(y)])
    csq = np.concatenate([[0.0], np.cumsum(y * y)])
    for w in shape.windows:
        start = np.clip(t + 1 - w, 0, None)
        n = (t + 1 - start).astype(float)
        mean = (csum[t + 1] - csum[start]) / n
        var = np.maximum((csq[t + 1] - csq[start]) / n - mean * mean, 0.0)
        columns += [np.where(t + 1 >= w, mean - last, np.nan), np.where(t + 1 >= w, np.sqrt(var), np.nan)]
    return np.column_stack(columns)


def _calendar(times: pd.DatetimeIndex) -> np.ndarray:
    return np.column_stack([np.asarray(getattr(times, c), dtype=float) for c in _CALENDAR]) if len(times) \
        else np.empty((0, len(_CALENDAR)))


class LagBoostingForecaster:
    """A global LightGBM model over lags, windows and calendar features; see the module docstring."""

    def __init__(self, params: Mapping[str, Any] | None = None, *, random_state: int = 0) -> None:
        self.params = LagBoostingParams.model_validate(dict(params or {})).model_dump()
        self.random_state = random_state

    # -- scaling --------------------------------------------------------------------------------

    def _prepare(self, y: np.ndarray) -> tuple[np.ndarray, float, bool]:
        """The series transformed and scaled, with its scale and whether it was logged (to undo it).

        A series that never changes has scale 0 (and is returned unscaled)."""
        y = pd.Series(y, dtype=float).ffill().bfill().fillna(0.0).to_numpy()
        use_log = self.shape_.log and len(y) > 0 and bool((y > 0).all())
        z = np.log(y) if use_log else y
        scale = float(np.mean(np.abs(np.diff(z)))) if len(z) > 1 else 0.0
        if not np.isfinite(scale) or scale <= 1e-12 * max(1.0, float(np.mean(np.abs(z)))):
            return z, 0.0, use_log
        return z / scale, scale, use_log

    def _rows(self, z: np.ndarray, times: pd.DatetimeIndex, covariates: np.ndarray,
              origins: np.ndarray, steps: np.ndarray) -> np.ndarray:
        """Full rows: history features, then the calendar and covariates of the target times.

        ``times`` and ``covariates`` cover the series' history followed by its forecast steps."""
        target = origins + steps
        parts = [lag_features(z, origins, steps, self.shape_), _calendar(times[target])]
        if covariates.shape[1]:
            parts.append(covariates[target])
        return np.column_stack(parts)

    # -- the forecaster -------------------------------------------------------------------------

    def fit(self, train: pd.DataFrame, layout: SeriesLayout) -> LagBoostingForecaster:
        p, h, m = self.params, layout.horizon, max(1, layout.season_length)
        self.layout = layout
        self.shape_ = _Shape(
            horizon=h, season=m, lags=p["lags"] or max(2 * m, 8),
            windows=tuple(p["windows"]) or ((m, 2 * m) if m > 1 else (3, 6)),
            covariates=tuple(c for c in layout.known_future
                             if c in train.columns and pd.api.types.is_numeric_dtype(train[c])),
            log=p["transform"] == "log")
        groups = list(train.groupby(SERIES, sort=False))
        per_series = max(1, p["max_rows"] // max(1, len(groups) * h))
        X_parts, y_parts, valid_parts = [], [], []
        for _, part in groups:
            z, _, _ = self._prepare(part[VALUE].to_numpy(dtype=float))
            n = len(z)
            if n < 2:
                continue
            origins = np.arange(max(0, n - 1 - per_series), n - 1)
            origins, steps = np.repeat(origins, h), np.tile(np.arange(1, h + 1), len(origins))
            keep = origins + steps < n
            origins, steps = origins[keep], steps[keep]
            times = pd.DatetimeIndex(part[TIME])
            X_parts.append(self._rows(z, times, self._covariates(part), origins, steps))
            y_parts.append(z[origins + steps] - z[origins])
            valid_parts.append(origins + steps >= n - h)
        self.model_: Any = None
        if not X_parts:
            return self
        X, y, valid = np.vstack(X_parts), np.concatenate(y_parts), np.concatenate(valid_parts)
        best = _MAX_TREES
        if valid.any() and (~valid).sum() >= 50 and not past_deadline():
            probe = self._booster(_MAX_TREES)
            self._fit(probe, X[~valid], y[~valid], (X[valid], y[valid]))
            best = max(1, int(getattr(probe, "best_iteration_", 0) or probe.n_estimators))
            self.model_ = probe
        if not past_deadline():
            model = self._booster(int(best * 1.1) + 1 if best < _MAX_TREES else 200)
            self._fit(model, X, y, None)
            self.model_ = model
        return self

    def predict(self, history: pd.DataFrame, future: pd.DataFrame | None = None) -> pd.DataFrame:
        h = self.layout.horizon
        offset = pd.tseries.frequencies.to_offset(self.layout.freq)
        ahead = dict(tuple(future.groupby(SERIES, sort=False))) if future is not None else {}
        values: dict[str, np.ndarray] = {}
        for sid, part in history.groupby(SERIES, sort=False):
            y = part[VALUE].to_numpy(dtype=float)
            z, scale, use_log = self._prepare(y)
            if self.model_ is None or len(z) < 2 or scale == 0.0:  # nothing learnt, or nothing changes
                values[sid] = np.full(h, y[np.isfinite(y)][-1] if np.isfinite(y).any() else 0.0)
                continue
            times = pd.DatetimeIndex(part[TIME])
            times = times.append(pd.date_range(times[-1], periods=h + 1, freq=offset)[1:])
            covariates = np.vstack([self._covariates(part), self._future_covariates(ahead.get(sid), times[-h:])])
            origins, steps = np.full(h, len(z) - 1), np.arange(1, h + 1)
            change = np.asarray(self.model_.predict(self._rows(np.append(z, np.zeros(h)), times, covariates,
                                                               origins, steps)), dtype=float)
            out = (z[-1] + change) * scale
            values[sid] = np.exp(out) if use_log else out
        return forecast_frame(self.layout, history, values)

    # -- helpers --------------------------------------------------------------------------------

    def _covariates(self, part: pd.DataFrame) -> np.ndarray:
        cols = self.shape_.covariates
        return part[list(cols)].to_numpy(dtype=float) if cols else np.empty((len(part), 0))

    def _future_covariates(self, ahead: pd.DataFrame | None, times: pd.DatetimeIndex) -> np.ndarray:
        """The known-future covariates at ``times``; missing where not given (the trees route those)."""
        cols = self.shape_.covariates
        if ahead is None or not cols:
            return np.full((len(times), len(cols)), np.nan)
        given = ahead.drop_duplicates(TIME).set_index(TIME).reindex(times)
        return np.column_stack([pd.to_numeric(given[c], errors="coerce").to_numpy(dtype=float)
                                if c in given.columns else np.full(len(times), np.nan) for c in cols])

    def _booster(self, trees: int) -> Any:
        lgb = require("lightgbm")
        p = self.params
        return lgb.LGBMRegressor(
            n_estimators=trees, learning_rate=p["learning_rate"], num_leaves=p["num_leaves"],
            min_child_samples=p["min_child_samples"], colsample_bytree=p["colsample_bytree"],
            subsample=p["subsample"], subsample_freq=1 if p["subsample"] < 1.0 else 0, reg_lambda=p["reg_lambda"],
            objective={"l2": "regression", "l1": "regression_l1", "huber": "huber"}[p["objective"]],
            n_jobs=1, verbosity=-1, random_state=self.random_state,
            **booster_device_params("lightgbm", current_device()))

    def _fit(self, model: Any, X: np.ndarray, y: np.ndarray, valid: tuple[np.ndarray, np.ndarray] | None) -> None:
        lgb = require("lightgbm")
        callbacks: list[Any] = [_stop_at_deadline]
        if valid is not None:
            callbacks.append(lgb.early_stopping(_PATIENCE, verbose=False))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X, y, eval_set=[valid] if valid is not None else None, callbacks=callbacks)


def _stop_at_deadline(env: Any) -> None:
    if past_deadline():
        lgb = require("lightgbm")
        raise lgb.callback.EarlyStopException(env.iteration, env.evaluation_result_list or [])


def _build(task: str, params: Mapping[str, Any], seed: int) -> LagBoostingForecaster:
    return LagBoostingForecaster(params, random_state=seed)


lightgbm_lags = register_candidate(Candidate(
    name="lightgbm_lags",
    tasks=frozenset({FORECAST_TASK}),
    build=_build,
    presets=({"transform": "log", "num_leaves": 7, "min_child_samples": 30}, {"transform": "log"},
             {"num_leaves": 7, "min_child_samples": 30}),
    space={
        "lags": Int(4, 60, log=True),
        "transform": Choice(("none", "log")),
        "learning_rate": Float(0.02, 0.2, log=True),
        "num_leaves": Int(4, 128, log=True),
        "min_child_samples": Int(5, 100, log=True),
        "colsample_bytree": Float(0.4, 1.0),
        "subsample": Float(0.5, 1.0),
        "reg_lambda": Float(1e-3, 10.0, log=True),
        "objective": Choice(("l2", "l1", "huber")),
    },
    tags=Tags(input="sequence", handles_missing=True, respects_deadline=True, gpu="lightgbm"),
    params=LagBoostingParams,
    summary="LightGBM over all series on lags, rolling windows and calendar features (direct, one model)",
))
