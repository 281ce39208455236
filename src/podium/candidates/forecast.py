"""The forecaster contract, and the baseline every forecast competition starts from.

A forecasting family is a ``Candidate`` whose ``tasks`` hold ``"forecast"`` and whose
``build(task, params, seed)`` returns an unfitted ``Forecaster``. Forecasters see panels in
the long layout of ``podium.data.series`` (``unique_id``, ``ds``, ``y``, covariates):

- ``fit(train, layout)`` learns from the history (the trainer calls it inside
  ``fit_deadline``; an iterative family checks ``past_deadline()`` and stops in time);
- ``predict(history, future)`` forecasts the next ``layout.horizon`` steps of every series in
  ``history`` — which may be the training panel, a longer one, or series never seen (a
  request's history): a local model refits on it, a global one reads its windows. ``future``
  holds the known-future covariates for those steps (``unique_id``, ``ds``, covariates) or is
  None. The answer is ``unique_id``, ``ds``, ``yhat``: ``horizon`` rows per series, in order.

The fitted forecaster is what a forecast package pickles and a service calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from podium.candidates.base import Candidate, Tags, register_candidate
from podium.data.series import FORECAST, SERIES, TIME, VALUE, SeriesLayout

# the long layout's names are re-exported for forecasters written against this module alone
__all__ = ["FORECAST_TASK", "Forecaster", "SeasonalNaive", "WeightedForecast", "seasonal_naive", "forecast_frame",
           "SERIES", "TIME", "VALUE", "FORECAST"]

FORECAST_TASK = "forecast"


@runtime_checkable
class Forecaster(Protocol):
    def fit(self, train: pd.DataFrame, layout: SeriesLayout) -> Forecaster: ...

    def predict(self, history: pd.DataFrame, future: pd.DataFrame | None = None) -> pd.DataFrame: ...


def forecast_frame(layout: SeriesLayout, history: pd.DataFrame, values: dict[str, np.ndarray]) -> pd.DataFrame:
    """The answer frame from each series' ``horizon`` forecast values (keyed by series id)."""
    times = layout.future_times(history)
    times[FORECAST] = np.concatenate([np.asarray(values[sid], dtype=float)
                                      for sid in times[SERIES].drop_duplicates()])
    return times


class WeightedForecast:
    """A weighted average of several forecasters' forecasts: a forecast competition's ensemble.

    Each member keeps its own way of reading the history; the answer is their forecasts,
    point by point, averaged with ``weights``.
    """

    layout: SeriesLayout

    def __init__(self, members: list[Forecaster], weights: list[float]) -> None:
        self.members = members
        self.weights = weights

    def fit(self, train: pd.DataFrame, layout: SeriesLayout) -> WeightedForecast:
        fitted = [m.fit(train, layout) for m in self.members]
        needs = [getattr(m, "layout", layout).min_history for m in fitted]
        self.members, self.layout = fitted, layout.with_min_history(max(needs, default=1))
        return self

    def predict(self, history: pd.DataFrame, future: pd.DataFrame | None = None) -> pd.DataFrame:
        answers = [m.predict(history, future) for m in self.members]
        weights = np.asarray(self.weights, dtype=float)
        stacked = np.stack([a[FORECAST].to_numpy(dtype=float) for a in answers])
        out = answers[0][[SERIES, TIME]].copy()
        out[FORECAST] = weights @ stacked / weights.sum()
        return out


class _NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SeasonalNaive:
    """Each series' last season, repeated: the forecast every other family must beat."""

    layout: SeriesLayout

    def fit(self, train: pd.DataFrame, layout: SeriesLayout) -> SeasonalNaive:
        self.layout = layout
        return self

    def predict(self, history: pd.DataFrame, future: pd.DataFrame | None = None) -> pd.DataFrame:
        m, h = max(1, self.layout.season_length), self.layout.horizon
        values = {}
        for sid, y in history.groupby(SERIES, sort=False)[VALUE]:
            last = y.to_numpy(dtype=float)
            season = last[-m:] if len(last) >= m else last[-1:]
            values[sid] = np.resize(season, h) if len(season) else np.full(h, np.nan)
        return forecast_frame(self.layout, history, values)


def _build(task: str, params: Mapping[str, Any], seed: int) -> SeasonalNaive:
    return SeasonalNaive()


seasonal_naive = register_candidate(Candidate(
    name="seasonal_naive",
    tasks=frozenset({FORECAST_TASK}),
    build=_build,
    tags=Tags(input="sequence", handles_missing=True),
    params=_NoParams,
    summary="each series' last season repeated (the last value when there is no season)",
))
