"""Forecast competitions: the time split, a forecast trial, the ensemble and the final fit.

A forecast task holds out the last ``horizon`` points of every series; with
``split.backtest_windows: N`` the candidates are also fitted at N earlier origins (each
window ``horizon`` points long, ending where the next begins) and selected on their mean
score there, the holdout staying untouched for the gate and the leaderboard. Every metric
is computed on the forecast points, MASE scaled per series by the in-sample seasonal naive
error of the history the forecast was made from.
"""

from __future__ import annotations

import time
import warnings
from collections import Counter
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from podium.candidates import candidate_registry, fit_deadline
from podium.candidates.forecast import FORECAST_TASK, Forecaster, WeightedForecast
from podium.data.series import FORECAST, SERIES, TIME, VALUE, SeriesLayout, default_season, infer_freq, parse_times
from podium.data.types import ColumnType, infer_column_types
from podium.errors import DataError, SpecError
from podium.registry.schema import InputSchema
from podium.spec import PipelineSpec
from podium.training.ensemble import ENSEMBLE, diverse
from podium.training.leaderboard import Leaderboard, Trial, TrialResult
from podium.training.metrics import Metric, default_metric, get_metric, metric_registry
from podium.training.problem import ForecastProblem, Window
from podium.training.task import check_target

if TYPE_CHECKING:
    from podium.training.prepare import Prepared

__all__ = ["prepare_forecast", "run_forecast_trial", "select_forecast_ensemble", "fit_final_forecast",
           "forecast_scales", "forecast_values", "holdout_score", "split_last", "fitted_layout",
           "MIN_TRAIN_POINTS", "NOT_A_GRAPH"]

#: points a series needs before its holdout (and before each backtest window)
MIN_TRAIN_POINTS = 2
#: why a forecast package is served from its pickled forecaster, not from an ONNX graph
NOT_A_GRAPH = ("a forecaster reads each request's whole history (refitting or windowing it): "
               "not a fixed graph of one row")
_POOL = 12
_ROUNDS = 20


# -- preparing ------------------------------------------------------------------------------------
def layout_for(frame: pd.DataFrame, spec: PipelineSpec) -> SeriesLayout:
    """The spec's forecast block as a layout, the frequency and season inferred where not given."""
    fc = spec.forecast
    assert fc is not None, "a forecast task has a forecast block (checked by the spec)"
    freq = fc.freq
    if freq is None:
        if fc.time_column not in frame.columns:
            raise SpecError(f"forecast.time_column '{fc.time_column}' is not a column of the data.",
                            hint=f"the columns are: {', '.join(map(str, frame.columns[:20]))}")
        series = frame[fc.series_id].astype(str) if fc.series_id and fc.series_id in frame.columns else None
        times = parse_times(frame[fc.time_column], fc.time_column)
        try:
            freq = infer_freq(times, series)
        except DataError:
            freq = _fixed_step(times, series)  # a gap in a daily or hourly grid: the grid check names it
            if freq is None:
                raise
    return SeriesLayout(
        time_column=fc.time_column, target=spec.target, horizon=fc.horizon, freq=freq,
        season_length=fc.season_length or default_season(freq), series_id=fc.series_id,
        known_future=tuple(fc.known_future), static=tuple(fc.static))


def _fixed_step(times: pd.Series, series: pd.Series | None) -> str | None:
    """The most common step between timestamps when it is a fixed span of at most a week
    (minutes, hours, days), so that a gap can be named; None for calendar steps (months…)."""
    frame = pd.DataFrame({"s": series if series is not None else "", "t": times}).sort_values(["s", "t"])
    steps = frame.groupby("s", sort=False)["t"].diff().dropna()
    steps = steps[steps > pd.Timedelta(0)]
    if steps.empty:
        return None
    step = steps.mode().iloc[0]
    if step > pd.Timedelta(days=7) or (steps == step).mean() < 0.5:
        return None
    return str(pd.tseries.frequencies.to_offset(step).freqstr)


def prepare_forecast(frame: pd.DataFrame, spec: PipelineSpec) -> Prepared:
    """The forecast counterpart of ``prepare``: checked series, split by time, as a ``Prepared``."""
    from podium.training.prepare import Prepared  # prepare dispatches here: imported when called

    if frame.empty:
        raise DataError("The data has no rows.", hint="check the source, its table name or filter")
    if spec.steps:
        raise SpecError("steps do not apply to a forecast task: the series are read as they are.",
                        hint="remove the steps block; name covariates in forecast.known_future or forecast.static")
    check_target(frame, spec.target)
    layout = layout_for(frame, spec)
    panel = layout.canonical(frame)
    _check_values(panel, layout)
    windows = spec.split.backtest_windows
    _check_lengths(panel, layout.horizon, windows)
    train, test = split_last(panel, layout.horizon)
    backtest = []
    for i in range(windows, 0, -1):  # the oldest origin first
        before, rest = split_last(train, i * layout.horizon)
        backtest.append(Window(before, split_last(rest, (i - 1) * layout.horizon)[0]))
    metric = get_metric(spec.metric or default_metric(FORECAST_TASK), FORECAST_TASK)
    problem = ForecastProblem(layout=layout, panel=panel, train=train, test=test, metric=metric,
                              backtest=backtest)
    used = [layout.time_column, *([layout.series_id] if layout.series_id else []), spec.target, *layout.covariates]
    notes = [f"{problem.n_series} series, frequency {layout.freq}, season {layout.season_length}: holding out "
             f"the last {layout.horizon} points of each" + (f", selecting on {windows} backtest windows before them"
                                                             if windows else "")]
    ignored = [str(c) for c in frame.columns if c not in used]
    if ignored:
        notes.append(f"not used: {', '.join(ignored[:10])}{' …' if len(ignored) > 10 else ''} (name covariates "
                     "in forecast.known_future or forecast.static)")
    features = frame[used]
    kinds = infer_column_types(features)
    kinds[layout.time_column] = ColumnType.DATETIME
    kinds[spec.target] = ColumnType.NUMERIC
    if layout.series_id:
        kinds[layout.series_id] = ColumnType.CATEGORICAL
    schema = InputSchema.from_frame(features, kinds)
    return Prepared(problem, features, kinds, schema, infer_column_types(frame), notes)


def _check_values(panel: pd.DataFrame, layout: SeriesLayout) -> None:
    missing = panel[VALUE].isna()
    if missing.any():
        row = panel.loc[missing.idxmax()]
        raise DataError(f"series {row[SERIES]!r} has no numeric value of '{layout.target}' at {row[TIME]}.",
                        hint="fill the missing values (e.g. interpolate, or 0 for no sales) before forecasting")
    for column in layout.static:
        varying = panel.groupby(SERIES, sort=False)[column].nunique(dropna=False) > 1
        if varying.any():
            raise DataError(f"static covariate '{column}' changes within series {varying.idxmax()!r}.",
                            hint="a static covariate holds one value per series; a changing one is known_future")


def _check_lengths(panel: pd.DataFrame, horizon: int, windows: int) -> None:
    lengths = panel.groupby(SERIES, sort=False).size()
    longest = int(lengths.max())
    if horizon + MIN_TRAIN_POINTS > longest:
        raise DataError(f"The horizon ({horizon}) is longer than the history: the longest series has {longest} "
                        f"points, and the last {horizon} of each are held out to score the forecast.",
                        hint=f"forecast fewer steps (at most {max(1, longest - MIN_TRAIN_POINTS)}), or give more history")
    needed = horizon * (1 + windows) + MIN_TRAIN_POINTS
    short = lengths[lengths < needed]
    if len(short):
        sid, n = short.index[0], int(short.iloc[0])
        more = f" and {len(short) - 1} more series are" if len(short) > 1 else " is"
        why = f"a horizon of {horizon}" + (f" with {windows} backtest windows" if windows else "")
        raise DataError(f"Series {sid!r} has only {n} points{more} too short for {why} "
                        f"(each needs at least {needed}).",
                        hint="drop the short series, give more history, or lower horizon"
                             + (" or split.backtest_windows" if windows else ""))


def split_last(panel: pd.DataFrame, n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every series but its last ``n`` points, and those points."""
    from_end = panel.groupby(SERIES, sort=False).cumcount(ascending=False)
    tail = from_end < n
    return panel.loc[~tail].reset_index(drop=True), panel.loc[tail].reset_index(drop=True)


# -- scoring --------------------------------------------------------------------------------------
def forecast_scales(history: pd.DataFrame, season_length: int) -> pd.Series:
    """Each series' MASE scale: the mean absolute error of the seasonal naive forecast (lag m)
    over its history; lag 1 when the history is a season or shorter or the seasonal error is 0,
    and 1 when the series is constant (its MASE is then its MAE)."""
    y = history.groupby(SERIES, sort=False)[VALUE]
    seasonal = y.diff(max(1, season_length)).abs().groupby(history[SERIES], sort=False).mean()
    lag1 = y.diff(1).abs().groupby(history[SERIES], sort=False).mean()
    scale = seasonal.where(seasonal > 0, lag1)
    return scale.where(scale > 0, 1.0).fillna(1.0)


def forecast_values(metrics: list[Metric], actual: pd.DataFrame, forecast: pd.DataFrame,
                    history: pd.DataFrame, season_length: int) -> dict[str, float]:
    """The metrics of a forecast (``unique_id``, ``ds``, ``yhat``) against ``actual`` (its
    ``y``), MASE scaled by ``history``. Raises ValueError when the forecast misses points."""
    joined = actual[[SERIES, TIME, VALUE]].merge(forecast[[SERIES, TIME, FORECAST]], on=[SERIES, TIME], how="left")
    if joined[FORECAST].isna().any():
        row = joined.loc[joined[FORECAST].isna().idxmax()]
        raise ValueError(f"no finite forecast for series {row[SERIES]!r} at {row[TIME]}")
    scale = joined[SERIES].map(forecast_scales(history, season_length)).to_numpy(dtype=float)
    y, yhat = joined[VALUE].to_numpy(dtype=float), joined[FORECAST].to_numpy(dtype=float)
    return {m.name: m.value(y, yhat, scale=scale) for m in metrics}


def _forecast_metrics() -> list[Metric]:
    return [m for _, m in metric_registry.items() if FORECAST_TASK in m.tasks]


def _predict(forecaster: Forecaster, layout: SeriesLayout, history: pd.DataFrame,
             actual: pd.DataFrame) -> pd.DataFrame:
    future = actual[[SERIES, TIME, *layout.known_future]] if layout.known_future else None
    return forecaster.predict(history, future)


def holdout_score(forecaster: Forecaster, layout: SeriesLayout, frame: pd.DataFrame, metric: Metric) -> float:
    """A fitted forecaster's ``metric`` on the last ``horizon`` points of every series of ``frame``
    (a table in the user's columns), forecast from the points before them."""
    history, actual = split_last(layout.canonical(frame), layout.horizon)
    forecast = _predict(forecaster, layout, history, actual)
    return forecast_values([metric], actual, forecast, history, layout.season_length)[metric.name]


# -- a trial --------------------------------------------------------------------------------------
def run_forecast_trial(problem: ForecastProblem, trial: Trial, deadline: float | None) -> TrialResult:
    """Fit one configuration at each backtest origin and on the train part; score; never raises."""
    from podium.training.trial import _one_line, _pickled_size

    candidate = candidate_registry.get(trial.candidate)
    layout, metrics = problem.layout, _forecast_metrics()
    try:
        with warnings.catch_warnings(), fit_deadline(deadline):
            warnings.simplefilter("ignore")
            window_values, window_forecasts = [], []
            for window in problem.backtest:
                fitted = candidate.estimator(FORECAST_TASK, trial.params, trial.seed).fit(window.train, layout)
                answer = _aligned(_predict(fitted, layout, window.train, window.test), window.test)
                window_values.append(forecast_values([problem.metric], window.test, answer, window.train,
                                                     layout.season_length)[problem.metric.name])
                window_forecasts.append(answer[FORECAST].to_numpy(dtype=float))
            forecaster = candidate.estimator(FORECAST_TASK, trial.params, trial.seed)
            start = time.perf_counter()
            forecaster.fit(problem.train, layout)
            fit_seconds = time.perf_counter() - start
            start = time.perf_counter()
            answer = _aligned(_predict(forecaster, layout, problem.train, problem.test), problem.test)
            predict_seconds = time.perf_counter() - start
            values = forecast_values(metrics, problem.test, answer, problem.train, layout.season_length)
    except Exception as exc:  # a failing candidate is recorded; the others go on
        return TrialResult(trial, "failed", error=_one_line(exc))
    metric = problem.metric
    cv_value = float(np.mean(window_values)) if window_values else None
    value = values[metric.name]
    return TrialResult(
        trial, "ok", value=value, score=metric.score(cv_value if cv_value is not None else value), metrics=values,
        fit_seconds=fit_seconds, predict_ms_per_1000=1000 * predict_seconds * 1000 / max(1, len(problem.test)),
        size_bytes=_pickled_size(forecaster), cv_value=cv_value, compiled=False, compile_blocker=NOT_A_GRAPH,
        predictions=answer[FORECAST].to_numpy(dtype=float),
        oof_predictions=np.concatenate(window_forecasts) if window_forecasts else None,
    )


def _aligned(answer: pd.DataFrame, actual: pd.DataFrame) -> pd.DataFrame:
    """The forecast on the rows of ``actual``, in its order (a missing point: NaN, then an error)."""
    joined = actual[[SERIES, TIME]].merge(answer[[SERIES, TIME, FORECAST]], on=[SERIES, TIME], how="left")
    if joined[FORECAST].isna().any():
        row = joined.loc[joined[FORECAST].isna().idxmax()]
        raise ValueError(f"the forecast has no finite value for series {row[SERIES]!r} at {row[TIME]}")
    return joined


# -- the ensemble ---------------------------------------------------------------------------------
def select_forecast_ensemble(problem: ForecastProblem, results: list[TrialResult], next_id: int, *,
                             max_member_seconds: float | None = None) -> TrialResult | None:
    """Caruana's greedy ensemble of the best forecasters (as ``select_ensemble`` does for tables):
    weights chosen on the backtest windows' forecasts when there are some, else on the holdout."""
    usable = [r for r in results if r.status == "ok" and r.predictions is not None
              and (max_member_seconds is None or r.fit_seconds <= max_member_seconds)]
    pool = diverse(usable)[:_POOL]
    if len(pool) < 2:
        return None
    backtest = bool(problem.backtest) and all(r.oof_predictions is not None for r in pool)
    metric, layout = problem.metric, problem.layout
    holdout_scale = _row_scales(problem.train, problem.test, layout.season_length)
    if backtest:
        actual = np.concatenate([w.test[VALUE].to_numpy(dtype=float) for w in problem.backtest])
        scale = np.concatenate([_row_scales(w.train, w.test, layout.season_length) for w in problem.backtest])
    else:
        actual, scale = problem.test[VALUE].to_numpy(dtype=float), holdout_scale

    def outputs(r: TrialResult, selecting: bool) -> np.ndarray:
        out = r.oof_predictions if selecting and backtest else r.predictions
        assert out is not None
        return out

    chosen: list[int] = []
    total = np.zeros_like(actual)
    best = -np.inf
    for _ in range(_ROUNDS):
        scores = [metric.score(metric.value(actual, (total + outputs(r, True)) / (len(chosen) + 1), scale=scale))
                  for r in pool]
        pick = int(np.argmax(scores))
        if chosen and scores[pick] < best:
            break
        chosen.append(pick)
        total += outputs(pool[pick], True)
        best = max(best, scores[pick])
    counts = Counter(chosen)
    if len(counts) < 2:
        return None
    members = [pool[i] for i in sorted(counts)]
    weights = [counts[i] for i in sorted(counts)]
    blend = np.average(np.stack([outputs(m, False) for m in members]), axis=0, weights=weights)
    y_test = problem.test[VALUE].to_numpy(dtype=float)
    values = {m.name: m.value(y_test, blend, scale=holdout_scale) for m in _forecast_metrics()}
    value = values[metric.name]
    selected = (best if metric.greater_is_better else -best) if backtest else None  # the backtest value
    trial = Trial(next_id, ENSEMBLE, {"members": [m.trial.id for m in members], "weights": weights}, 0)
    return TrialResult(
        trial, "ok", value=value, score=metric.score(selected if selected is not None else value),
        metrics=values, cv_value=selected,
        fit_seconds=sum(m.fit_seconds for m in members),
        predict_ms_per_1000=sum(m.predict_ms_per_1000 or 0.0 for m in members),
        size_bytes=sum(m.size_bytes or 0 for m in members), compiled=False, compile_blocker=NOT_A_GRAPH,
        predictions=blend, device="cuda" if any(m.device == "cuda" for m in members) else "cpu",
    )


def _row_scales(history: pd.DataFrame, actual: pd.DataFrame, season_length: int) -> np.ndarray:
    scales: np.ndarray = actual[SERIES].map(forecast_scales(history, season_length)).to_numpy(dtype=float)
    return scales


# -- the shipped model ----------------------------------------------------------------------------
def build_forecaster(winner: Trial, board: Leaderboard) -> Forecaster:
    """The winner's unfitted forecaster: one family's, or the weighted ensemble of its members."""
    if winner.candidate == ENSEMBLE:
        trials = {r.trial.id: r.trial for r in board.results}
        members = [trials[i] for i in winner.params["members"]]
        return WeightedForecast([candidate_registry.get(t.candidate).estimator(FORECAST_TASK, t.params, t.seed)
                                 for t in members], [float(w) for w in winner.params["weights"]])
    candidate = candidate_registry.get(winner.candidate)
    forecaster: Forecaster = candidate.estimator(FORECAST_TASK, winner.params, winner.seed)
    return forecaster


def fit_final_forecast(problem: ForecastProblem, winner: Trial, board: Leaderboard, *,
                       refit_all: bool, deadline: float | None = None) -> Forecaster:
    """The winner fitted on every point (or the train part only) for the package; iterative
    families (the recurrent nets) stop at ``deadline``."""
    with warnings.catch_warnings(), fit_deadline(deadline):
        warnings.simplefilter("ignore")
        return build_forecaster(winner, board).fit(problem.panel if refit_all else problem.train, problem.layout)


def fitted_layout(layout: SeriesLayout, forecaster: Forecaster) -> SeriesLayout:
    """The layout a package records: with the history the fitted forecaster said it needs."""
    declared = getattr(forecaster, "layout", None)
    return layout.with_min_history(declared.min_history) if isinstance(declared, SeriesLayout) else layout
