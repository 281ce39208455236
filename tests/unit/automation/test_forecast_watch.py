"""Forecast champions under the watcher: a new dataset version with more months retrains, and the
challenger takes over only if it forecasts the new holdout no worse than the champion."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import BaseModel

from podium.automation.watch import Watcher
from podium.candidates import Candidate, Tags, candidate_registry
from podium.candidates.forecast import FORECAST_TASK, forecast_frame
from podium.config import load_settings
from podium.data.series import SERIES, VALUE, SeriesLayout
from podium.registry import Registry

SPEC = {"name": "sales", "source": "sales.csv", "target": "units", "budget": {"trials": 1}, "notify": [],
        "ensemble": False, "promotion": {"smoke_test": False},
        "forecast": {"time_column": "month", "series_id": "store", "horizon": 4}}


class _NoParams(BaseModel):
    pass


class _Trend:
    """The last value plus the mean step: right on trending series, where a seasonal naive lags."""

    layout: SeriesLayout

    def fit(self, train: pd.DataFrame, layout: SeriesLayout) -> _Trend:
        self.layout = layout
        return self

    def predict(self, history: pd.DataFrame, future: pd.DataFrame | None = None) -> pd.DataFrame:
        values = {}
        for sid, y in history.groupby(SERIES, sort=False)[VALUE]:
            v = y.to_numpy()
            values[sid] = v[-1] + (v[-1] - v[0]) / (len(v) - 1) * np.arange(1, self.layout.horizon + 1)
        return forecast_frame(self.layout, history, values)


@pytest.fixture
def trend() -> Iterator[None]:
    candidate = Candidate(name="test_trend", tasks=frozenset({FORECAST_TASK}), build=lambda t, p, s: _Trend(),
                          tags=Tags(input="sequence"), params=_NoParams)
    candidate_registry.register(candidate.name, candidate, replace=True)
    yield
    candidate_registry.unregister(candidate.name)


def _write(path: Path, months: int) -> None:
    rng = np.random.default_rng(months)
    stamps = pd.date_range("2021-01-01", periods=months, freq="MS").strftime("%Y-%m-%d")
    pd.concat([pd.DataFrame({"store": s, "month": stamps, "units": 100 + 3 * (i + 1) * np.arange(months)
                             + rng.normal(0, 0.5, months)}) for i, s in enumerate(["north", "south"])]) \
        .to_csv(path, index=False)


def test_more_months_retrain_and_only_a_challenger_no_worse_on_the_new_holdout_is_promoted(tmp_path: Path,
                                                                                             trend: None) -> None:
    (tmp_path / "podium.yaml").write_text("executor: inline\nnotify: []\n")
    _write(tmp_path / "sales.csv", 24)
    watcher = Watcher(load_settings(tmp_path), quiet_seconds=0)
    watcher.datasets.add("sales", str(tmp_path / "sales.csv"))
    watcher.pipelines.bind("sales", {**SPEC, "candidates": ["test_trend"]}, dataset="sales")
    assert watcher.step().ran[0][1] == "registered"

    # the next version has four more months; a worse family is asked for: the trend champion stays
    _write(tmp_path / "sales.csv", 28)
    watcher.pipelines.bind("sales", {**SPEC, "candidates": ["seasonal_naive"]}, dataset="sales")
    assert watcher.step().ran[0][1] == "not_promoted"
    registry = Registry.from_settings(load_settings(tmp_path))
    runs = registry.list_runs(limit=10)
    decision = registry.promotion(runs[0].id)
    assert decision is not None and decision.decision == "keep"
    figures = decision.figures
    assert figures["metric"] == "mase" and figures["champion"] < figures["challenger"]
    assert figures["reference"]["rows"] == "sales:1"  # also judged on the version the champion learned from
    assert registry.resolve("sales@champion").version == 1

    # and with a family as good as the champion on the newest holdout, the challenger takes over
    _write(tmp_path / "sales.csv", 32)
    watcher.pipelines.bind("sales", {**SPEC, "candidates": ["test_trend"]}, dataset="sales")
    assert watcher.step().ran[0][1] == "registered"
    assert registry.resolve("sales@champion").version == 3
    champion = registry.load("sales@champion")
    assert champion.series_layout is not None and champion.lineage["rows"] == 64
    answer = champion.forecast(pd.read_csv(tmp_path / "sales.csv"))
    assert answer["month"].min() == pd.Timestamp("2023-09-01") and len(answer) == 2 * 4
