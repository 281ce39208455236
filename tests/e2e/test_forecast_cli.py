"""Forecasting as a user runs it: the quick form on a public series, `podium predict` on its
history, and one clear line (exit 2) for series it cannot use."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PODIUM = str(Path(sys.executable).parent / "podium")
#: airline (Box & Jenkins) as ../shared/bench/forecast/public holds it, shipped: the anchor table's first dataset
AIRLINE = ROOT / "tests" / "fixtures" / "forecast" / "airline"
QUICK = ("--target", "value", "--task", "forecast", "--time-column", "timestamp", "--series-id", "series_id")


def _cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PODIUM, *args], cwd=project, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PODIUM_HOME": str(project), "OMP_NUM_THREADS": "1"})


@pytest.fixture
def airline(tmp_path: Path) -> Path:
    for name in ("train.csv", "test.csv"):
        shutil.copy(AIRLINE / name, tmp_path / name)
    return tmp_path


def _seasonal_naive_mase(values: np.ndarray, horizon: int, m: int) -> float:
    """The figure the leaderboard must show for seasonal naive: the last `horizon` points held out."""
    history, actual = values[:-horizon], values[-horizon:]
    forecast = np.resize(history[-m:], horizon)
    return float(np.mean(np.abs(actual - forecast)) / np.mean(np.abs(history[m:] - history[:-m])))


def test_quick_form_trains_registers_and_forecasts_the_next_year(airline: Path) -> None:
    run = _cli(airline, "run", "--data", "train.csv", *QUICK, "--horizon", "12", "--trials", "2", "--json")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert (result["task"], result["metric"], result["status"]) == ("forecast", "mase", "registered")
    naive = next(r for r in result["leaderboard"] if r["candidate"] == "seasonal_naive")
    values = pd.read_csv(airline / "train.csv")["value"].to_numpy(dtype=float)
    assert naive["score"] == pytest.approx(_seasonal_naive_mase(values, 12, 12), rel=1e-9)
    assert set(naive["metrics"]) == {"mase", "smape", "rmse", "mae"}
    champion = result["leaderboard"][0]
    assert champion["engine"] == "forecaster" and champion["score"] <= naive["score"]

    shown = json.loads(_cli(airline, "models", "show", "train@champion", "--json").stdout)
    assert shown["forecast"] | {"min_history": 1} == {
        "time_column": "timestamp", "target": "value", "horizon": 12, "freq": "MS", "season_length": 12,
        "series_id": "series_id", "known_future": [], "static": [], "min_history": 1}

    predicted = _cli(airline, "predict", "train@champion", "--input", "train.csv", "--output", "forecast.csv")
    assert predicted.returncode == 0, predicted.stderr
    forecast = pd.read_csv(airline / "forecast.csv")
    test = pd.read_csv(airline / "test.csv")
    assert list(forecast.columns) == ["series_id", "timestamp", "value"]
    assert pd.to_datetime(forecast["timestamp"]).tolist() == pd.to_datetime(test["timestamp"]).tolist()
    scale = np.mean(np.abs(values[12:] - values[:-12]))
    mase = float(np.mean(np.abs(forecast["value"].to_numpy() - test["value"].to_numpy())) / scale)
    assert np.isfinite(mase) and mase < 3  # the next year, at the level of the series (anchor: 1.571 for naive)


def test_a_duplicated_timestamp_gets_one_line_and_exit_2(airline: Path) -> None:
    """(The other refusals — gaps, bad timestamps, short series, a horizon longer than the
    history — are pinned in tests/unit/training/test_forecasting.py.)"""
    frame = pd.read_csv(airline / "train.csv")
    pd.concat([frame, frame.iloc[[5]]]).to_csv(airline / "bad.csv", index=False)
    run = _cli(airline, "run", "--data", "bad.csv", *QUICK, "--horizon", "12", "--trials", "1")
    assert run.returncode == 2, run.stderr
    assert "series 'airline' has the timestamp 1949-06-01 00:00:00 more than once" in run.stderr
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) <= 2  # the line and its hint
