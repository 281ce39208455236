"""A forecasting model that `podium run --task forecast` made, served over real HTTP: /forecast,
its refusals, auth, documents, logs, and `podium predict --url`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from live_service import Service, start_service

from podium.registry import PredictionLog

pytestmark = pytest.mark.integration

HORIZON = 4
CLI = "from podium.cli.main import main; main()"


def _podium(*args: str, project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", CLI, "--project", str(project), *args],
                          capture_output=True, text=True, timeout=180, env={**os.environ, "OMP_NUM_THREADS": "1"})


def sales() -> pd.DataFrame:
    """Three stores, 48 weeks, a yearly-ish wave and noise: the issue's example."""
    rng = np.random.default_rng(0)
    weeks = pd.date_range("2025-01-06", periods=48, freq="W-MON")
    parts = [pd.DataFrame({"store": store, "week": weeks.strftime("%Y-%m-%d"),
                           "units": (base + 5 * np.sin(np.arange(48) / 2) + rng.normal(0, 1, 48)).round(1)})
             for store, base in (("s1", 30), ("s2", 60), ("s3", 90))]
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def forecasting(tmp_path_factory) -> Iterator[Service]:
    project = tmp_path_factory.mktemp("forecast-serving")
    sales().to_csv(project / "sales.csv", index=False)
    trained = _podium("run", "--data", str(project / "sales.csv"), "--target", "units", "--task", "forecast",
                      "--time-column", "week", "--series-id", "store", "--horizon", str(HORIZON),
                      "--trials", "2", "--name", "sales", project=project)
    assert trained.returncode == 0, trained.stderr[-3000:]
    running = start_service(project, ["sales@champion"], workers=1, reload_interval=0, prediction_log_rate=1.0,
                            access_log=str(project / "access.log"))
    yield running
    running.stop()


def _request(frame: pd.DataFrame) -> dict:
    return {"series": [{"store": store, "history": part[["week", "units"]].to_dict(orient="records")}
                       for store, part in frame.groupby("store", sort=False)]}


def test_the_service_forecasts_what_the_package_forecasts(forecasting):
    history = sales()
    with forecasting.client() as client:
        response = client.post("/v1/models/sales/forecast", json=_request(history), headers={"X-Request-ID": "fc-1"})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["horizon"] == HORIZON and [s["store"] for s in answer["series"]] == ["s1", "s2", "s3"]
    local = forecasting.registry.load("sales@champion").forecast(history, None)
    for series in answer["series"]:
        mine = local[local["store"] == series["store"]]
        assert [p["week"] for p in series["forecast"]] == [t.strftime("%Y-%m-%d") for t in mine["week"]]
        assert [p["units"] for p in series["forecast"]] == pytest.approx(mine["units"].tolist(), rel=1e-9)
    log = PredictionLog(forecasting.registry.engine)
    deadline = time.monotonic() + 10
    while not [r for r in log.read("sales") if r["request_id"] == "fc-1"]:
        assert time.monotonic() < deadline, "the sampled forecast never reached the registry"
        time.sleep(0.2)
    logged = [r for r in log.read("sales") if r["request_id"] == "fc-1"]
    assert {r["inputs"]["series"] for r in logged} == {"s1", "s2", "s3"}
    assert len(logged[0]["outputs"]["forecast"]) == HORIZON
    lines = [json.loads(line) for line in (forecasting.project / "access.log").read_text().splitlines()]
    assert any(x["request_id"] == "fc-1" and x["path"] == "/v1/models/sales/forecast" and x["status"] == 200
               for x in lines)


@pytest.mark.parametrize(("history", "says"), [
    (lambda f: f.drop(index=5), "no row for"),
    (lambda f: pd.concat([f, f.iloc[[7]]]), "more than once"),
    (lambda f: f.assign(units="lots"), "'series[0].history[0].units'"),
])
def test_bad_histories_are_422_with_one_line(forecasting, history, says):
    with forecasting.client() as client:
        response = client.post("/v1/models/sales/forecast", json=_request(history(sales())))
    assert response.status_code == 422, response.text
    assert says in response.json()["detail"]


def test_unknown_fields_auth_and_the_predict_route(forecasting):
    body = _request(sales())
    body["series"][0]["region"] = "north"
    with forecasting.client() as client:
        unknown = client.post("/v1/models/sales/forecast", json=body)
        assert unknown.status_code == 422 and "'series[0].region': Extra inputs" in unknown.json()["detail"]
        assert client.post("/v1/models/sales/forecast", json=_request(sales()),
                           headers={"Authorization": ""}).status_code == 401
        predict = client.post("/v1/models/sales/predict", json={"week": "2025-01-06"})
        assert predict.status_code == 409 and "/v1/models/sales/forecast" in predict.json()["detail"]


def test_openapi_shows_the_models_own_columns(forecasting):
    with forecasting.client() as client:
        doc = client.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    assert "/v1/models/sales/forecast" in doc["paths"] and "/v1/models/sales/predict" not in doc["paths"]
    assert "store" in schemas["SalesSeries"]["properties"]
    assert set(schemas["SalesHistoryPoint"]["properties"]) == {"week", "units"}
    assert set(schemas["SalesForecastPoint"]["properties"]) == {"week", "units"}


def test_podium_predict_url_forecasts_through_the_service(forecasting, tmp_path):
    sales().to_csv(tmp_path / "history.csv", index=False)
    done = _podium("predict", "sales@champion", "--url", forecasting.url, "--api-key", forecasting.key,
                   "--input", str(tmp_path / "history.csv"), "--output", str(tmp_path / "forecast.csv"),
                   project=forecasting.project)
    assert done.returncode == 0, done.stderr[-2000:]
    remote = pd.read_csv(tmp_path / "forecast.csv")
    local = forecasting.registry.load("sales@champion").forecast(sales(), None)
    assert list(remote.columns) == ["store", "week", "units"] and len(remote) == 3 * HORIZON
    assert remote["units"].to_numpy() == pytest.approx(local["units"].to_numpy(), rel=1e-9)
