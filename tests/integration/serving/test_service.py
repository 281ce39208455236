"""The generated service, over real HTTP: documents, validation, auth, metrics, logs."""

from __future__ import annotations

import json
import re
import time

import pytest
from live_service import RECORD

from podium.registry import PredictionLog

pytestmark = pytest.mark.integration


def test_openapi_lists_every_feature_with_its_type_and_categories(service):
    doc = service.client().get("/openapi.json").json()
    schema = doc["components"]["schemas"]["TitanicInput"]
    package = service.registry.load("titanic@champion")
    for column in package.input_schema.columns:
        field = schema["properties"][column.name]
        if column.kind == "numeric":
            assert field["type"] == ("integer" if column.dtype.startswith("int") else "number"), column.name
        else:
            assert field["anyOf"][0]["enum"] == column.categories, column.name
    assert set(schema["required"]) == {c.name for c in package.input_schema.columns if not c.nullable}
    assert schema["examples"][0]["class"] in package.input_schema.column("class").categories
    assert doc["paths"]["/v1/models/titanic/predict"]["post"]["security"]
    assert service.client().get("/docs").status_code == 200


def test_a_prediction_over_http(service):
    response = service.client().post("/v1/models/titanic/predict", json=RECORD, headers={"X-Request-ID": "r-1"})
    assert response.status_code == 200
    body = response.json()
    assert body["prediction"] in ("no", "yes") and body["request_id"] == "r-1"
    assert body["probabilities"]["yes"] == pytest.approx(1 - body["probabilities"]["no"])


@pytest.mark.parametrize(("body", "status", "says"), [
    ({**RECORD, "class": "stowaway"}, 200, None),  # an unseen category: handled as training handles it
    ({**RECORD, "fare": "cheap"}, 422, "'fare'"),
    ({k: v for k, v in RECORD.items() if k != "age"}, 422, "'age': Field required"),
])
def test_validation(service, body, status, says):
    response = service.client().post("/v1/models/titanic/predict", json=body)
    assert response.status_code == status, response.text
    if says:
        assert says in response.json()["detail"]


@pytest.mark.parametrize(("extra", "header"), [
    ({"surname": "Astor"}, '["surname"]'),
    ({"\u007f": None, "näme": 1}, r'["\u007f","n\u00e4me"]'),  # a header holds printable ASCII only
])
def test_fields_the_model_does_not_take_are_ignored_and_named(service, extra, header):
    response = service.client().post("/v1/models/titanic/predict", json={**RECORD, **extra})
    assert response.status_code == 200, response.text
    assert response.headers["X-Ignored-Fields"] == header
    assert json.loads(header) == list(extra)


def test_malformed_json_is_400_and_an_oversized_batch_413(service):
    with service.client() as client:
        bad = client.post("/v1/models/titanic/predict", content=b'{"age": 3,', headers={"Content-Type": "application/json"})
        assert bad.status_code == 400 and "not valid JSON" in bad.json()["detail"]
        big = client.post("/v1/models/titanic/predict/batch", json={"records": [RECORD] * 1001})
        assert big.status_code == 413 and "limit is 1000" in big.json()["detail"]
        ok = client.post("/v1/models/titanic/predict/batch", json={"records": [RECORD] * 1000})
        assert ok.status_code == 200 and len(ok.json()["predictions"]) == 1000


def test_auth_401_403_and_revocation_within_seconds(service):
    url = "/v1/models/titanic/predict"
    with service.client() as client:
        assert client.post(url, json=RECORD, headers={"Authorization": ""}).status_code == 401
        assert client.post(url, json=RECORD, headers={"Authorization": "Bearer pdm_nope"}).status_code == 401
        _, other = service.registry.create_key(f"other-{time.monotonic_ns()}", models=["churn"])
        assert client.post(url, json=RECORD, headers={"Authorization": f"Bearer {other}"}).status_code == 403
        name = f"soon-revoked-{time.monotonic_ns()}"
        _, key = service.registry.create_key(name)
        assert client.post(url, json=RECORD, headers={"Authorization": "", "X-API-Key": key}).status_code == 200
        service.registry.revoke_key(name)
        revoked_at = time.monotonic()
        while client.post(url, json=RECORD, headers={"Authorization": f"Bearer {key}"}).status_code != 401:
            assert time.monotonic() - revoked_at < 3, "a revoked key still works after 3 s"
            time.sleep(0.1)
        assert client.get("/healthz", headers={"Authorization": ""}).status_code == 200
        assert client.get("/readyz", headers={"Authorization": ""}).status_code == 200


def test_metrics_add_up_over_the_workers(service):
    def predicted() -> float:
        text = service.client().get("/metrics").text
        found = re.search(r'podium_requests_total\{endpoint="predict",model="titanic",status="200"\} ([\d.e+]+)', text)
        return float(found.group(1)) if found else 0.0

    before = predicted()
    for _ in range(20):  # a fresh connection each: the kernel spreads them over both workers
        with service.client() as client:
            assert client.post("/v1/models/titanic/predict", json=RECORD).status_code == 200
    assert predicted() - before == 20
    text = service.client().get("/metrics").text
    assert 'podium_model_version{model="titanic"}' in text
    assert "podium_request_duration_seconds_bucket" in text and 'podium_predictions_total{class=' in text


def test_access_log_and_prediction_log(service):
    with service.client() as client:
        rid = client.post("/v1/models/titanic/predict", json=RECORD, headers={"X-Request-ID": "logged-1"}).json()["request_id"]
    log = PredictionLog(service.registry.engine)
    deadline = time.monotonic() + 5
    while not [r for r in log.read("titanic") if r["request_id"] == rid]:
        assert time.monotonic() < deadline, "the sampled prediction never reached the registry"
        time.sleep(0.2)
    record = [r for r in log.read("titanic") if r["request_id"] == rid][0]
    assert record["inputs"] == RECORD and record["outputs"]["prediction"] in ("no", "yes")
    lines = [json.loads(line) for line in (service.project / "access.log").read_text().splitlines()]
    mine = [x for x in lines if x["request_id"] == "logged-1"]
    assert mine and mine[0]["status"] == 200 and mine[0]["model"] == "titanic" and mine[0]["path"] == "/v1/models/titanic/predict"
