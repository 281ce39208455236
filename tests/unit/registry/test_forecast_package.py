"""A forecast package: its forecast block round-trips, and it forecasts from histories in user columns."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from podium.candidates.forecast import SeasonalNaive
from podium.data.series import SeriesLayout
from podium.errors import DataError, UserError
from podium.registry import MANIFEST, InputSchema, ModelPackage, OutputSchema
from podium.registry.scoring import FORECASTER, EngineInfo

LAYOUT = SeriesLayout(time_column="week", target="units", horizon=3, freq="W-MON", season_length=2,
                      series_id="store", known_future=("promo",), min_history=4)


def _history() -> pd.DataFrame:
    weeks = pd.date_range("2026-01-05", periods=6, freq="W-MON").strftime("%Y-%m-%d").tolist()
    return pd.DataFrame({"store": ["a"] * 6 + ["b"] * 6, "week": weeks * 2,
                         "units": [1.0, 2, 3, 4, 5, 6, 10, 20, 10, 20, 10, 20], "promo": [0, 1] * 6})


def _future() -> pd.DataFrame:
    weeks = pd.date_range("2026-02-16", periods=3, freq="W-MON").strftime("%Y-%m-%d").tolist()
    return pd.DataFrame({"store": ["b"] * 3 + ["a"] * 3, "week": weeks * 2, "promo": [1, 0, 1] * 2})


@pytest.fixture
def package(tmp_path: Path) -> ModelPackage:
    history = _history()
    built = ModelPackage(
        pipeline=SeasonalNaive().fit(LAYOUT.canonical(history), LAYOUT),
        input_schema=InputSchema.from_frame(history), output_schema=OutputSchema(task="forecast", target="units"),
        metric="mase", metrics={"mase": 0.8}, engine_info=EngineInfo(FORECASTER, reason="reads histories"),
        series_layout=LAYOUT)
    built.save(None, tmp_path / "pkg")
    return ModelPackage.load(tmp_path / "pkg")


def test_the_forecast_block_round_trips_with_its_engine(package: ModelPackage, tmp_path: Path) -> None:
    manifest = json.loads((tmp_path / "pkg" / MANIFEST).read_text())
    assert manifest["forecast"] == {**LAYOUT.to_json(), "known_future": ["promo"], "static": []}
    assert manifest["engine"]["name"] == FORECASTER and manifest["output_schema"]["classes"] is None
    assert package.series_layout == LAYOUT and package.engine.name == FORECASTER
    assert package.describe()["forecast"]["horizon"] == 3 and package.classes == []


def test_it_forecasts_the_next_horizon_of_every_series_in_user_columns(package: ModelPackage) -> None:
    answer = package.forecast(_history(), _future())
    assert list(answer.columns) == ["store", "week", "units"]
    assert answer["store"].tolist() == ["a"] * 3 + ["b"] * 3
    assert answer["week"].iloc[0] == pd.Timestamp("2026-02-16") and answer["week"].iloc[2] == pd.Timestamp("2026-03-02")
    np.testing.assert_allclose(answer["units"], [5, 6, 5, 10, 20, 10])  # the last season, repeated


def test_a_history_it_cannot_use_gets_one_line(package: ModelPackage) -> None:
    with pytest.raises(DataError, match=r"known-future covariates \(promo\): give their values for the next 3 steps"):
        package.forecast(_history())
    with pytest.raises(DataError, match=r"series 'a' has no row for 2026-03-02 00:00:00, a step to forecast"):
        package.forecast(_history(), _future().iloc[:5])
    history = _history()
    with pytest.raises(DataError, match=r"history of series 'a' has 3 points; this model needs at least 4"):
        package.forecast(history[(history["store"] == "b") | (history["week"] < "2026-01-26")], _future())
    with pytest.raises(DataError, match=r"the history has no column 'units'"):
        package.forecast(history.drop(columns="units"), _future())
    with pytest.raises(DataError, match=r"history of series 'b' has no numeric value of 'units' at 2026-01-12"):
        package.forecast(history.assign(units=history["units"].where(history.index != 7)), _future())
    with pytest.raises(DataError, match=r"the history: series 'a' has the timestamp .* more than once"):
        package.forecast(pd.concat([history, history.iloc[:1]]), _future())


def test_rows_are_not_scored_by_a_forecast_model_nor_histories_by_a_tabular_one(package: ModelPackage) -> None:
    with pytest.raises(UserError, match="This is a forecast model: it forecasts from histories"):
        package.predict_frame(_history())
    tabular = ModelPackage(pipeline=None, input_schema=InputSchema.from_frame(_history()),
                           output_schema=OutputSchema(task="regression", target="units"), metric="rmse")
    with pytest.raises(UserError, match="This is a regression model, not a forecast one"):
        tabular.forecast(_history())
