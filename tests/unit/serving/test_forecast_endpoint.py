"""POST /v1/models/{name}/forecast in process: the generated models, answers, refusals and documents."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from serving_doubles import Registry, classifier_package

from podium.candidates.forecast import SeasonalNaive
from podium.data.series import SeriesLayout
from podium.registry import InputSchema, ModelPackage, OutputSchema
from podium.serving.app import create_app
from podium.serving.client import ServiceError, forecast_remote
from podium.serving.options import ServeOptions

WEEKS = pd.date_range("2025-01-06", periods=30, freq="W-MON")
LAYOUT = SeriesLayout("week", "units", horizon=4, freq="W-MON", season_length=4, series_id="store",
                      known_future=("promo",), min_history=5)


def sales_package() -> ModelPackage:
    """A forecasting package: seasonal naive on two weekly series with a known-future promo flag."""
    frame = pd.DataFrame({"store": np.repeat(["s1", "s2"], len(WEEKS)), "week": list(WEEKS) * 2,
                          "units": np.arange(2 * len(WEEKS), dtype=float), "promo": np.tile([0, 1], len(WEEKS))})
    forecaster = SeasonalNaive().fit(LAYOUT.canonical(frame), LAYOUT)
    return ModelPackage(forecaster, InputSchema.from_frame(frame.drop(columns="units")),
                        OutputSchema.from_target(frame["units"], "forecast", target="units"),
                        metric="mase", metrics={"mase": 1.0}, series_layout=LAYOUT)


def history(n: int = 8, start: int = 0, offset: float = 0.0) -> list[dict[str, Any]]:
    return [{"week": str(w.date()), "units": offset + i, "promo": i % 2}
            for i, w in enumerate(WEEKS[start:start + n])]


def future(after: int = 8) -> list[dict[str, Any]]:
    return [{"week": str(w.date()), "promo": 1} for w in pd.date_range(WEEKS[after], periods=4, freq="W-MON")]


@pytest.fixture
def client() -> Iterator[TestClient]:
    registry = Registry()
    registry.register("sales", sales_package())
    registry.register("titanic", classifier_package())
    key = registry.create_key("tests")[1]
    options = ServeOptions(access_log=None, prediction_log_rate=0, reload_interval=0, key_cache_seconds=0,
                           max_batch=3)
    with TestClient(create_app(registry, ["sales", "titanic"], options=options),
                    headers={"Authorization": f"Bearer {key}"}) as c:
        yield c


def test_the_next_horizon_of_every_series_in_request_order(client):
    body = {"series": [{"store": "s2", "history": history(offset=100), "future": future()},
                       {"store": "s1", "history": history(), "future": future()}]}
    response = client.post("/v1/models/sales/forecast", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["model"] == "sales" and answer["version"] == 1 and answer["horizon"] == 4
    assert [s["store"] for s in answer["series"]] == ["s2", "s1"]
    expected_weeks = [str(w.date()) for w in pd.date_range(WEEKS[8], periods=4, freq="W-MON")]
    for series, offset in zip(answer["series"], (100, 0)):
        assert [p["week"] for p in series["forecast"]] == expected_weeks
        # seasonal naive, season 4: the last four observed values again
        assert [p["units"] for p in series["forecast"]] == pytest.approx([offset + 4, offset + 5, offset + 6, offset + 7])


@pytest.mark.parametrize(("series", "says"), [
    ({"store": "s1", "history": history(3), "future": future(3)}, "has 3 point(s) of history; this model needs at least 5"),
    ({"store": "s1", "history": history()[:3] + history()[4:], "future": future()}, "no row for 2025-01-27"),
    ({"store": "s1", "history": history() + history()[-1:], "future": future()}, "more than once"),
    ({"store": "s1", "history": history(), "future": future(), "colour": "red"}, "'series[0].colour': Extra inputs"),
    ({"store": "s1", "history": history()}, "'series[0].future': Field required"),
    ({"store": "s1", "history": history(), "future": future()[:2]}, "'series[0].future': List should have at least 4"),
    ({"store": "s1", "history": [{**p, "week": 1736121600} for p in history()], "future": future()},
     "'series[0].history[0].week': Value error, Input should be a date or date-time in ISO 8601"),
    ({"store": "s1", "history": [{**p, "units": "many"} for p in history()], "future": future()},
     "'series[0].history[0].units'"),
])
def test_a_request_it_cannot_forecast_from_is_422_with_one_line(client, series, says):
    response = client.post("/v1/models/sales/forecast", json={"series": [series]})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert says in detail and "\n" not in detail


def test_a_series_twice_is_422_and_more_series_than_the_limit_413(client):
    one = {"store": "s1", "history": history(), "future": future()}
    twice = client.post("/v1/models/sales/forecast", json={"series": [one, one]})
    assert twice.status_code == 422 and "'s1' is given twice" in twice.json()["detail"]
    many = client.post("/v1/models/sales/forecast",
                       json={"series": [{**one, "store": f"s{i}"} for i in range(4)]})
    assert many.status_code == 413 and "the limit is 3" in many.json()["detail"]


def test_each_kind_of_model_points_at_its_own_endpoint(client):
    predict = client.post("/v1/models/sales/predict", json={"week": "2025-01-06"})
    assert predict.status_code == 409 and "/v1/models/sales/forecast" in predict.json()["detail"]
    assert client.post("/v1/models/sales/predict/batch", json={"records": []}).status_code == 409
    tabular = client.post("/v1/models/titanic/forecast", json={"series": []})
    assert tabular.status_code == 404 and "/v1/models/titanic/predict" in tabular.json()["detail"]
    listed = {m["name"]: m for m in client.get("/v1/models").json()["models"]}
    assert listed["sales"]["task"] == "forecast" and listed["sales"]["forecast"] == "/v1/models/sales/forecast"
    assert "predict" not in listed["sales"] and "forecast" not in listed["titanic"]
    described = client.get("/v1/models/sales").json()
    assert described["forecast"]["horizon"] == 4 and described["endpoints"] == {"forecast": "/v1/models/sales/forecast"}


def test_auth_is_the_same_as_for_predictions(client):
    body = {"series": [{"store": "s1", "history": history(), "future": future()}]}
    assert client.post("/v1/models/sales/forecast", json=body, headers={"Authorization": ""}).status_code == 401
    wrong = client.post("/v1/models/sales/forecast", json=body, headers={"Authorization": "Bearer pdm_nope"})
    assert wrong.status_code == 401


def test_openapi_names_the_models_columns(client):
    doc = client.get("/openapi.json").json()
    paths, schemas = doc["paths"], doc["components"]["schemas"]
    assert "/v1/models/sales/forecast" in paths and "/v1/models/sales/predict" not in paths
    assert "/v1/models/titanic/forecast" not in paths and "/v1/models/titanic/predict" in paths
    operation = paths["/v1/models/sales/forecast"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/SalesForecastRequest")
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/SalesForecast")
    assert operation["security"]
    series = schemas["SalesSeries"]
    assert set(series["required"]) == {"store", "history", "future"}
    assert series["properties"]["future"]["minItems"] == series["properties"]["future"]["maxItems"] == 4
    point = schemas["SalesHistoryPoint"]
    assert set(point["properties"]) == {"week", "units", "promo"} and set(point["required"]) == {"week", "units", "promo"}
    assert set(schemas["SalesFuturePoint"]["properties"]) == {"week", "promo"}
    assert set(schemas["SalesForecastPoint"]["properties"]) == {"week", "units"}
    example = series["examples"][0]
    assert len(example["history"]) >= 5 and len(example["future"]) == 4  # a valid request as documented
    assert client.post("/v1/models/sales/forecast", json={"series": [example]}).status_code == 200


def test_metrics_count_forecasts(client):
    body = {"series": [{"store": "s1", "history": history(), "future": future()}]}
    assert client.post("/v1/models/sales/forecast", json=body).status_code == 200
    text = client.get("/metrics").text
    assert 'podium_requests_total{endpoint="forecast",model="sales",status="200"} 1.0' in text
    assert 'podium_predictions_total{class="",model="sales"} 4.0' in text


def test_forecast_remote_sends_a_tables_series(client):
    rows = [{"store": sid, **p} for sid, offset in (("s1", 0), ("s2", 50)) for p in history(offset=offset)]
    ahead = [{"store": sid, **p} for sid in ("s1", "s2") for p in future()]
    frame = forecast_remote("http://testserver", "sales", pd.DataFrame(rows), future=pd.DataFrame(ahead),
                            client=client)
    assert list(frame.columns) == ["store", "week", "units"] and len(frame) == 8
    assert frame["units"].tolist() == pytest.approx([4, 5, 6, 7, 54, 55, 56, 57])
    assert frame["week"].iloc[0] == WEEKS[8]
    with pytest.raises(ServiceError, match="known-future covariates"):
        forecast_remote("http://testserver", "sales", pd.DataFrame(rows), client=client)
