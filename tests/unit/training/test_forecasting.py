"""The forecast task: the time split, its one-line errors, the metrics, trials, backtest and ensemble."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from pydantic import BaseModel

from podium.candidates import Candidate, Tags, candidate_registry
from podium.candidates.forecast import FORECAST_TASK, SeasonalNaive, forecast_frame
from podium.data.series import FORECAST, SERIES, TIME, VALUE, SeriesLayout
from podium.errors import DataError, SpecError
from podium.spec import parse_spec
from podium.training import ForecastProblem, InlineExecutor, Trial, compete, fit_final, get_metric, prepare
from podium.training.forecasting import (
    forecast_scales,
    forecast_values,
    holdout_score,
    select_forecast_ensemble,
    split_last,
)
from podium.training.leaderboard import TrialResult
from podium.training.trainer import select_candidates


def _sales(n_series: int = 3, length: int = 30, seed: int = 0) -> pd.DataFrame:
    """Monthly sales of a few stores in the user's own columns, with a promo flag and a region."""
    rng = np.random.default_rng(seed)
    parts = []
    for i in range(n_series):
        t = np.arange(length)
        promo = (rng.random(length) < 0.3).astype(int)
        units = 40 + 5 * i + 0.5 * t + 6 * np.sin(2 * np.pi * t / 12) + 4 * promo + rng.normal(0, 0.5, length)
        parts.append(pd.DataFrame({"store": f"s{i}", "month": pd.date_range("2020-01-01", periods=length, freq="MS")
                                   .strftime("%Y-%m-%d"), "units": units, "promo": promo, "region": f"r{i % 2}"}))
    return pd.concat(parts, ignore_index=True).sample(frac=1.0, random_state=seed)  # any row order


def _spec(**forecast: object) -> object:
    block = {"time_column": "month", "series_id": "store", "horizon": 6, **forecast}
    return parse_spec({"source": "sales.csv", "target": "units", "forecast": block, "budget": {"trials": 4}})


class _DriftParams(BaseModel):
    pass


class _Drift:
    """The last value plus the mean step: a second family for ensembles (test only)."""

    layout: SeriesLayout

    def fit(self, train: pd.DataFrame, layout: SeriesLayout) -> _Drift:
        self.layout = layout.with_min_history(2)
        return self

    def predict(self, history: pd.DataFrame, future: pd.DataFrame | None = None) -> pd.DataFrame:
        h = self.layout.horizon
        values = {}
        for sid, y in history.groupby(SERIES, sort=False)[VALUE]:
            v = y.to_numpy()
            step = (v[-1] - v[0]) / max(1, len(v) - 1)
            values[sid] = v[-1] + step * np.arange(1, h + 1)
        return forecast_frame(self.layout, history, values)


@pytest.fixture
def drift() -> Iterator[Candidate]:
    candidate = Candidate(name="test_drift", tasks=frozenset({FORECAST_TASK}), build=lambda t, p, s: _Drift(),
                          tags=Tags(input="sequence"), params=_DriftParams)
    candidate_registry.register(candidate.name, candidate, replace=True)
    yield candidate
    candidate_registry.unregister(candidate.name)


def test_prepare_holds_out_the_last_horizon_points_of_each_series_and_infers_freq_and_season() -> None:
    prepared = prepare(_sales(), _spec())
    problem = prepared.problem
    assert isinstance(problem, ForecastProblem)
    assert (problem.layout.freq, problem.layout.season_length, problem.layout.horizon) == ("MS", 12, 6)
    assert len(problem.train) == 3 * 24 and len(problem.test) == 3 * 6 and problem.n_series == 3
    last_train = problem.train.groupby(SERIES)[TIME].max()
    first_test = problem.test.groupby(SERIES)[TIME].min()
    assert (first_test - last_train == pd.Timedelta(days=31)).all()  # 2021-12 → 2022-01
    assert problem.metric.name == "mase" and not problem.backtest
    assert any("not used: promo, region" in n for n in prepared.notes)
    assert list(prepared.input_schema.names) == ["month", "store", "units"]


def test_backtest_windows_are_consecutive_horizons_before_the_holdout() -> None:
    spec = parse_spec({"source": "s.csv", "target": "units", "split": {"backtest_windows": 2},
                       "forecast": {"time_column": "month", "series_id": "store", "horizon": 6}})
    problem = prepare(_sales(), spec).problem
    assert isinstance(problem, ForecastProblem) and len(problem.backtest) == 2
    oldest, latest = problem.backtest
    assert len(oldest.train) == 3 * 12 and len(oldest.test) == 3 * 6
    assert len(latest.train) == 3 * 18 and len(latest.test) == 3 * 6
    assert oldest.test.groupby(SERIES)[TIME].min().equals(latest.train.groupby(SERIES)[TIME].max()
                                                          - pd.offsets.MonthBegin(5))
    assert latest.test[TIME].max() < problem.test[TIME].min()


@pytest.mark.parametrize(("edit", "message"), [
    (lambda f: f.drop(index=f.index[(f["store"] == "s1")][3]), r"series 's1' has no row for 2020-.* \(frequency MS\)"),
    (lambda f: pd.concat([f, f.iloc[:1]]), r"has the timestamp .* more than once"),
    (lambda f: f.assign(month=f["month"].where(f.index != f.index[0], "not a date")),
     r"column 'month' has a missing or unreadable timestamp \('not a date'\)"),
    (lambda f: f.assign(units=f["units"].where(f.index != f.index[0], np.nan)), r"has no numeric value of 'units'"),
])
def test_bad_series_get_one_clear_line(edit, message) -> None:
    frame = _sales().sort_values(["store", "month"]).reset_index(drop=True)
    with pytest.raises(DataError, match=message):
        prepare(edit(frame), _spec(freq="MS"))


def test_a_missing_column_of_the_history_or_the_future_covariates_is_named_with_what_is_needed() -> None:
    layout = SeriesLayout(time_column="month", target="units", horizon=2, freq="MS", series_id="store",
                          known_future=("promo",))
    history = layout.canonical(_sales(length=6))
    assert list(history.columns) == [SERIES, TIME, VALUE, "promo"]
    with pytest.raises(DataError, match=r"the data has no column 'promo'\.") as missing:
        layout.canonical(_sales(length=6).drop(columns="promo"))
    assert missing.value.hint == "a forecast needs month, units, store, promo"
    future = pd.DataFrame({"store": ["s0", "s0"], "month": ["2020-07-01", "2020-08-01"]})
    with pytest.raises(DataError, match=r"the future covariates has no column 'promo'\.") as missing:
        layout.canonical_future(future, history)
    assert missing.value.hint == "give month, store, promo for the next 2 steps of each series"
    given = layout.canonical_future(future.assign(promo=[1, 0]), history[history[SERIES] == "s0"])
    assert list(given.columns) == [SERIES, TIME, "promo"] and given["promo"].tolist() == [1, 0]


def test_a_gap_in_a_daily_series_is_named_even_when_the_frequency_is_inferred() -> None:
    days = pd.date_range("2024-01-01", periods=40, freq="D").delete(17)
    frame = pd.DataFrame({"day": days.strftime("%Y-%m-%d"), "units": np.arange(39.0)})
    spec = parse_spec({"source": "s.csv", "target": "units", "forecast": {"time_column": "day", "horizon": 7}})
    with pytest.raises(DataError, match=r"series 'series' has no row for 2024-01-18 00:00:00 \(frequency D\)"):
        prepare(frame, spec)
    monthly = pd.DataFrame({"month": pd.date_range("2020-01-01", periods=30, freq="MS").delete(5), "units": 1.0})
    spec = parse_spec({"source": "s.csv", "target": "units", "forecast": {"time_column": "month", "horizon": 3}})
    with pytest.raises(DataError, match="not evenly spaced, so their frequency cannot be inferred"):
        prepare(monthly, spec)


def test_a_horizon_longer_than_the_history_and_short_series_are_refused() -> None:
    with pytest.raises(DataError, match=r"The horizon \(40\) is longer than the history: the longest series has 30"):
        prepare(_sales(), _spec(horizon=40))
    frame = _sales()
    short = frame[(frame["store"] != "s2") | (frame["month"] < "2020-08-01")]  # s2: 7 points
    with pytest.raises(DataError, match=r"Series 's2' has only 7 points is too short for a horizon of 6 "
                                        r"\(each needs at least 8\)"):
        prepare(short, _spec())
    spec = parse_spec({"source": "s.csv", "target": "units", "split": {"backtest_windows": 4},
                       "forecast": {"time_column": "month", "series_id": "store", "horizon": 6}})
    with pytest.raises(DataError, match="with 4 backtest windows"):
        prepare(_sales(), spec)


def test_spec_errors_name_the_forecast_block() -> None:
    with pytest.raises(SpecError, match="a forecast task needs a forecast block"):
        parse_spec({"source": "s.csv", "target": "units", "task": "forecast"})
    with pytest.raises(SpecError, match="forecast.horizon"):
        parse_spec({"source": "s.csv", "target": "units", "forecast": {"time_column": "m", "horizon": 0}})
    with pytest.raises(SpecError, match="steps do not apply"):
        prepare(_sales(), parse_spec({"source": "s.csv", "target": "units", "steps": ["drop_duplicates"],
                                      "forecast": {"time_column": "month", "horizon": 6, "series_id": "store"}}))
    with pytest.raises(SpecError, match="Metric 'accuracy' does not apply to a forecast task"):
        prepare(_sales(), parse_spec({"source": "s.csv", "target": "units", "metric": "accuracy",
                                      "forecast": {"time_column": "month", "horizon": 6, "series_id": "store"}}))


def test_mase_divides_each_series_by_its_seasonal_naive_error() -> None:
    layout = SeriesLayout("t", "y", horizon=2, freq="D", season_length=2)
    history = pd.DataFrame({SERIES: ["a"] * 4 + ["b"] * 4, TIME: list(pd.date_range("2024-01-01", periods=4)) * 2,
                            VALUE: [1.0, 2.0, 3.0, 5.0, 10.0, 10.0, 10.0, 10.0]})
    scales = forecast_scales(history, layout.season_length)
    assert scales["a"] == pytest.approx(2.5)  # |3-1|, |5-2|
    assert scales["b"] == pytest.approx(1.0)  # constant: its MASE is its MAE
    actual = layout.future_times(history).assign(**{VALUE: [6.0, 7.0, 10.0, 12.0]})
    forecast = actual.assign(**{FORECAST: [5.0, 7.0, 10.0, 10.0]})[[SERIES, TIME, FORECAST]]
    metrics = [get_metric(m, "forecast") for m in ("mase", "smape", "rmse", "mae")]
    values = forecast_values(metrics, actual, forecast, history, layout.season_length)
    assert values["mase"] == pytest.approx(((1 / 2.5 + 0) / 2 + (0 + 2 / 1.0) / 2) / 2)
    assert values["mae"] == pytest.approx(3 / 4)
    assert values["rmse"] == pytest.approx(np.sqrt(5 / 4))
    assert values["smape"] == pytest.approx(200 / 4 * (1 / 11 + 2 / 22))


def test_a_trial_scores_the_holdout_and_selects_on_the_backtest(drift: Candidate) -> None:
    spec = parse_spec({"source": "s.csv", "target": "units", "split": {"backtest_windows": 2},
                       "candidates": ["seasonal_naive", "test_drift"], "budget": {"trials": 2},
                       "forecast": {"time_column": "month", "series_id": "store", "horizon": 6}})
    problem = prepare(_sales(), spec).problem
    chosen, _ = select_candidates(spec.candidates, "forecast", problem.n_rows)
    board = compete(problem, chosen, budget=spec.budget, executor=InlineExecutor(), ensemble=False)
    by_name = {r.candidate: r for r in board.results}
    naive = by_name["seasonal_naive"]
    assert naive.status == "ok" and set(naive.metrics) == {"mase", "smape", "rmse", "mae"}
    expected = holdout_score(SeasonalNaive().fit(problem.train, problem.layout), problem.layout,
                             _sales(), problem.metric)
    assert naive.value == pytest.approx(expected)
    assert naive.cv_value is not None and naive.score == pytest.approx(-naive.cv_value)
    assert naive.oof_predictions is not None and len(naive.oof_predictions) == 2 * len(problem.test)
    assert naive.compiled is False and "history" in (naive.compile_blocker or "")


class _Promo(_Drift):
    """The last value plus the promo effect: it needs the known-future covariate (test only)."""

    seen: list[tuple[list[str], list[str] | None]] = []

    def predict(self, history: pd.DataFrame, future: pd.DataFrame | None = None) -> pd.DataFrame:
        _Promo.seen.append((list(history.columns), None if future is None else list(future.columns)))
        assert future is not None
        last = history.groupby(SERIES, sort=False)[VALUE].last()
        return future.assign(**{FORECAST: future[SERIES].map(last) + 4 * future["promo"]})[[SERIES, TIME, FORECAST]]


def test_covariates_reach_the_forecasters_in_trials_and_the_package_layout() -> None:
    candidate = Candidate(name="test_promo", tasks=frozenset({FORECAST_TASK}), build=lambda t, p, s: _Promo(),
                          tags=Tags(input="sequence"), params=_DriftParams)
    candidate_registry.register(candidate.name, candidate, replace=True)
    try:
        spec = parse_spec({"source": "s.csv", "target": "units", "candidates": ["test_promo"], "budget": {"trials": 1},
                           "split": {"backtest_windows": 1},
                           "forecast": {"time_column": "month", "series_id": "store", "horizon": 6,
                                        "known_future": ["promo"], "static": ["region"]}})
        prepared = prepare(_sales(), spec)
        problem = prepared.problem
        assert isinstance(problem, ForecastProblem)
        assert problem.layout.known_future == ("promo",) and problem.layout.static == ("region",)
        assert prepared.input_schema.names == ["month", "store", "units", "promo", "region"]
        _Promo.seen.clear()
        board = compete(problem, [candidate], budget=spec.budget, executor=InlineExecutor(), ensemble=False)
        assert board.best is not None and board.best.status == "ok"
        assert _Promo.seen == [([SERIES, TIME, VALUE, "promo", "region"], [SERIES, TIME, "promo"])] * 2
    finally:
        candidate_registry.unregister(candidate.name)


def test_tabular_families_do_not_compete_on_a_forecast() -> None:
    chosen, _ = select_candidates("all", "forecast", 100)
    assert chosen and all(c.supports("forecast") and c.tags.input == "sequence" for c in chosen)
    with pytest.raises(SpecError, match="None of the candidates supports a forecast task"):
        select_candidates(["ridge"], "forecast", 100)


def _result(i: int, name: str, pred: np.ndarray, value: float) -> TrialResult:
    return TrialResult(Trial(i, name, {}, 0), "ok", value=value, score=-value, predictions=pred, fit_seconds=0.1)


def test_the_ensemble_averages_forecasters_whose_errors_cancel(drift: Candidate) -> None:
    problem = prepare(_sales(), _spec()).problem
    assert isinstance(problem, ForecastProblem)
    y = problem.test[VALUE].to_numpy()
    results = [_result(0, "seasonal_naive", y + 2.0, 1.0), _result(1, "test_drift", y - 2.0, 1.0)]
    combined = select_forecast_ensemble(problem, results, next_id=2)
    assert combined is not None and combined.trial.params == {"members": [0, 1], "weights": [1, 1]}
    assert combined.value == pytest.approx(0.0, abs=1e-9) and combined.metrics["rmse"] == pytest.approx(0.0, abs=1e-9)
    assert select_forecast_ensemble(problem, [results[0], _result(1, "test_drift", y + 4, 2.0)], next_id=2) is None


def test_the_final_ensemble_is_fitted_on_every_point_and_forecasts_past_the_data(drift: Candidate) -> None:
    spec = parse_spec({"source": "s.csv", "target": "units", "candidates": ["seasonal_naive", "test_drift"],
                       "budget": {"trials": 2},
                       "forecast": {"time_column": "month", "series_id": "store", "horizon": 6}})
    problem = prepare(_sales(), spec).problem
    assert isinstance(problem, ForecastProblem)
    chosen, _ = select_candidates(spec.candidates, "forecast", problem.n_rows)
    board = compete(problem, chosen, budget=spec.budget, executor=InlineExecutor(), ensemble=False)
    winner = Trial(9, "ensemble", {"members": [r.trial.id for r in board.results[:2]], "weights": [1, 3]}, 0)
    fitted = fit_final(problem, winner, board, refit_all=True)
    answer = fitted.predict(problem.panel)
    assert answer[TIME].min() == pd.Timestamp("2022-07-01") and len(answer) == 3 * 6
    parts = [m.predict(problem.panel)[FORECAST].to_numpy() for m in fitted.members]
    weights = dict(zip([r.trial.id for r in board.results[:2]], [1, 3]))
    ids = [r.trial.id for r in board.results[:2]]
    expected = (weights[ids[0]] * parts[0] + weights[ids[1]] * parts[1]) / 4
    np.testing.assert_allclose(answer[FORECAST].to_numpy(), expected)
    assert fitted.layout.min_history == 2  # the drift family said it needs two points


def test_split_last_keeps_each_series_order() -> None:
    panel = prepare(_sales(), _spec()).problem.panel
    head, tail = split_last(panel, 2)
    assert len(tail) == 6 and (tail.groupby(SERIES).size() == 2).all()
    assert pd.concat([head, tail]).sort_values([SERIES, TIME]).reset_index(drop=True).equals(panel)
