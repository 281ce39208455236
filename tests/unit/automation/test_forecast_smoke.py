"""The smoke test of a forecast package with known-future covariates: it forecasts each series'
last horizon from the points before, with those points' covariates as the future."""

from __future__ import annotations

import numpy as np
import pandas as pd

from podium.automation.run import _smoke_series, run_pipeline
from podium.config import load_settings
from podium.data.series import SeriesLayout
from podium.spec import parse_spec


def _sales(months: int = 30) -> pd.DataFrame:
    stamps = pd.date_range("2022-01-01", periods=months, freq="MS")
    return pd.concat([pd.DataFrame({"store": s, "month": stamps.strftime("%Y-%m-%d")[::-1],  # newest first
                                    "units": 50.0 + i + np.arange(months)[::-1], "promo": np.arange(months)[::-1] % 2})
                      for i, s in enumerate(["north", "south"])], ignore_index=True)


def test_histories_end_where_the_future_covariates_begin():
    layout = SeriesLayout("month", "units", horizon=4, freq="MS", season_length=12, series_id="store",
                          known_future=("promo",))
    history, future = _smoke_series(layout, _sales())
    assert future is not None and list(future.columns) == ["store", "month", "promo"]
    assert len(history) == 2 * 26 and future.groupby("store").size().tolist() == [4, 4]
    assert future["month"].iloc[:4].tolist() == ["2024-03-01", "2024-04-01", "2024-05-01", "2024-06-01"]
    assert history.groupby("store")["month"].max().tolist() == ["2024-02-01", "2024-02-01"]
    plain = SeriesLayout("month", "units", horizon=4, freq="MS", series_id="store")
    rows, none = _smoke_series(plain, _sales())
    assert none is None and rows.equals(_sales())  # no covariates: the whole series


def test_a_model_with_known_future_covariates_passes_the_smoke_test_and_registers(tmp_path):
    _sales().to_csv(tmp_path / "sales.csv", index=False)
    spec = parse_spec({"name": "sales", "source": str(tmp_path / "sales.csv"), "target": "units",
                       "candidates": ["seasonal_naive"], "budget": {"trials": 1}, "ensemble": False, "notify": [],
                       "forecast": {"time_column": "month", "series_id": "store", "horizon": 4,
                                    "known_future": ["promo"]}})
    result = run_pipeline(spec, load_settings(tmp_path))
    assert result.status == "registered", result.notes
