from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from serving_doubles import RECORD, classifier_package

from podium.errors import SpecError
from podium.serving.app import create_app


def test_one_record_gets_a_label_probabilities_version_and_request_id(client):
    response = client.post("/v1/models/titanic/predict", json=RECORD)
    assert response.status_code == 200
    body = response.json()
    assert body["model"] == "titanic" and body["version"] == 1
    assert body["prediction"] in ("no", "yes")
    assert set(body["probabilities"]) == {"no", "yes"}
    assert sum(body["probabilities"].values()) == pytest.approx(1)
    assert body["request_id"] == response.headers["x-request-id"]


def test_the_answer_is_the_packages_own(client, registry):
    import pandas as pd

    body = client.post("/v1/models/titanic/predict", json=RECORD).json()
    expected, _ = registry.load("titanic").predict_frame(pd.DataFrame([RECORD]))
    assert body["prediction"] == expected["prediction"][0]
    assert body["probabilities"]["yes"] == pytest.approx(expected["proba_yes"][0], abs=1e-9)


def test_a_regressor_answers_a_value(client):
    body = client.post("/v1/models/fare/predict", json={"age": 40, "sibsp": 0, "class": "3rd"}).json()
    assert isinstance(body["prediction"], float) and "probabilities" not in body


def test_a_request_id_sent_is_kept(client):
    response = client.post("/v1/models/titanic/predict", json=RECORD, headers={"X-Request-ID": "abc-123"})
    assert response.json()["request_id"] == "abc-123" == response.headers["x-request-id"]


def test_an_unseen_category_and_left_out_optional_fields_are_fine(client):
    record = {**RECORD, "gender": "robot"}
    del record["age"], record["embarked"]
    assert client.post("/v1/models/titanic/predict", json=record).status_code == 200


@pytest.mark.parametrize(("body", "status", "says"), [
    (b"{not json", 400, "not valid JSON"),
    (b"", 400, "not valid JSON"),
    (b'{"gender": "male"}', 422, "'class': Field required"),
    (b'{"gender": "male", "age": "old", "class": "1st", "fare": 1, "sibsp": 0}', 422, "'age'"),
    (b'[1, 2]', 422, "'body'"),
    (b'{"gender": "male", "class": "1st", "fare": 1e999, "sibsp": 0}', 422, "'fare'"),
])
def test_bad_input_is_a_4xx_that_says_why(client, body, status, says):
    response = client.post("/v1/models/titanic/predict", content=body)
    assert response.status_code == status
    assert says in response.json()["detail"]


def test_a_batch_is_answered_in_order_and_an_oversized_one_gets_413(client):
    records = [RECORD, {**RECORD, "gender": "male", "class": "3rd", "age": 70}]
    body = client.post("/v1/models/titanic/predict/batch", json={"records": records}).json()
    assert len(body["predictions"]) == 2
    too_many = client.post("/v1/models/titanic/predict/batch", json={"records": [RECORD] * 1001})
    assert too_many.status_code == 413
    assert "limit is 1000" in too_many.json()["detail"]


def test_a_bad_record_in_a_batch_is_located(client):
    response = client.post("/v1/models/titanic/predict/batch",
                           json={"records": [RECORD, {**RECORD, "fare": "x"}]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "records[1].fare"


def test_auth_401_without_or_with_an_unknown_or_revoked_key_403_without_access(registry, key, options):
    _, limited = registry.create_key("fare-only", models=["fare"])
    app = create_app(registry, ["titanic@champion", "fare"], options=options)
    with TestClient(app) as c:
        url = "/v1/models/titanic/predict"
        assert c.post(url, json=RECORD).status_code == 401
        assert c.post(url, json=RECORD, headers={"Authorization": "Bearer nope"}).status_code == 401
        assert c.post(url, json=RECORD, headers={"X-API-Key": key}).status_code == 200
        assert c.post(url, json=RECORD, headers={"X-API-Key": limited}).status_code == 403
        assert c.get("/v1/models", headers={"X-API-Key": limited}).json()["models"][0]["name"] == "fare"
        registry.revoke_key("tests")
        refused = c.post(url, json=RECORD, headers={"X-API-Key": key})
        assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
        for open_path in ("/healthz", "/readyz", "/openapi.json", "/docs", "/metrics"):
            assert c.get(open_path).status_code == 200, open_path


def test_key_checks_are_remembered_for_a_moment(registry, key, options):
    app = create_app(registry, ["titanic"], options=options.model_copy(update={"key_cache_seconds": 60}))
    with TestClient(app, headers={"X-API-Key": key}) as c:
        for _ in range(5):
            c.post("/v1/models/titanic/predict", json=RECORD)
    assert registry.key_checks == 1


def test_no_auth_serves_without_keys(registry, options):
    app = create_app(registry, ["titanic"], auth=False, options=options)
    with TestClient(app) as c:
        assert c.post("/v1/models/titanic/predict", json=RECORD).status_code == 200
        assert "securitySchemes" not in c.get("/openapi.json").json()["components"]


def test_metadata_and_the_list_of_models(client):
    meta = client.get("/v1/models/titanic").json()
    assert meta["version"] == 1 and meta["metrics"] == {"accuracy": 0.8}
    assert {"name": "age", "required": False} in meta["features"]
    listed = client.get("/v1/models").json()["models"]
    assert [m["name"] for m in listed] == ["titanic", "fare"]
    missing = client.post("/v1/models/nope/predict", json={})
    assert missing.status_code == 404 and "served: titanic, fare" in missing.json()["detail"]


def test_openapi_documents_every_feature_and_answer(client):
    doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    schemas = doc["components"]["schemas"]
    titanic = schemas["TitanicInput"]["properties"]
    assert list(titanic) == ["gender", "age", "class", "embarked", "fare", "sibsp"]
    assert titanic["class"]["anyOf"][0]["enum"] == ["1st", "2nd", "3rd"]
    predict = doc["paths"]["/v1/models/titanic/predict"]["post"]
    assert predict["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/TitanicInput")
    ok = predict["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ok.endswith("/TitanicPrediction")
    assert {"400", "401", "403", "422"} <= set(predict["responses"])
    assert "413" in doc["paths"]["/v1/models/titanic/predict/batch"]["post"]["responses"]
    assert predict["security"] == [{"bearer": []}, {"apiKey": []}]
    assert schemas["FarePrediction"]["properties"]["prediction"]["type"] == "number"


def test_metrics_count_requests_predictions_and_errors(client):
    client.post("/v1/models/titanic/predict", json=RECORD)
    client.post("/v1/models/titanic/predict", json={})
    text = client.get("/metrics").text
    assert 'podium_requests_total{endpoint="predict",model="titanic",status="200"} 1.0' in text
    assert 'podium_requests_total{endpoint="predict",model="titanic",status="422"} 1.0' in text
    assert 'podium_errors_total{kind="validation",model="titanic"} 1.0' in text
    assert 'podium_model_version{model="titanic"} 1.0' in text
    assert "podium_predictions_total{class=" in text
    assert "podium_request_duration_seconds_bucket" in text


def test_following_an_alias_swaps_the_version_without_restart(registry, key, options):
    app = create_app(registry, ["titanic@champion"], options=options)
    with TestClient(app, headers={"X-API-Key": key}) as c:
        assert c.post("/v1/models/titanic/predict", json=RECORD).json()["version"] == 1
        registry.register("titanic", classifier_package(seed=1))
        assert app.state.podium.watcher.poll_once() == [("titanic", 1, 2)]
        assert c.post("/v1/models/titanic/predict", json=RECORD).json()["version"] == 2
        assert c.get("/readyz").json()["models"] == {"titanic": 2}
        assert 'podium_model_version{model="titanic"} 2.0' in c.get("/metrics").text


def test_a_pinned_version_does_not_move(registry, key, options):
    app = create_app(registry, ["titanic:1"], options=options)
    registry.register("titanic", classifier_package(seed=1))
    with TestClient(app):
        assert app.state.podium.watcher.poll_once() == []


def test_a_version_that_fails_to_load_leaves_the_old_one_serving(registry, key, options):
    app = create_app(registry, ["titanic@champion"], options=options)
    broken = classifier_package(seed=2)
    broken.input_schema = None  # type: ignore[assignment]
    registry.register("titanic", broken)
    with TestClient(app, headers={"X-API-Key": key}) as c:
        assert app.state.podium.watcher.poll_once() == []
        assert c.post("/v1/models/titanic/predict", json=RECORD).json()["version"] == 1


def test_serving_a_model_twice_or_nothing_is_refused(registry, options):
    with pytest.raises(SpecError, match="named twice"):
        create_app(registry, ["titanic", "titanic@champion"], options=options)
    with pytest.raises(SpecError, match="Nothing to serve"):
        create_app(registry, [], options=options)


def test_fields_the_model_does_not_take_are_ignored_and_named(client):
    plain = client.post("/v1/models/titanic/predict", json=RECORD)
    extra = client.post("/v1/models/titanic/predict", json={**RECORD, "ticket": "A/5 21171", "näme": 1})
    assert extra.status_code == 200
    assert extra.json()["probabilities"] == pytest.approx(plain.json()["probabilities"])
    assert "x-ignored-fields" not in plain.headers
    assert extra.headers["x-ignored-fields"] == r'["ticket","n\u00e4me"]'
    batch = client.post("/v1/models/titanic/predict/batch", json={"records": [RECORD, {**RECORD, "cabin": "C85"}]})
    assert batch.status_code == 200 and batch.headers["x-ignored-fields"] == '["cabin"]'


def test_a_client_gone_mid_request_is_no_error_of_the_service(client, key, caplog):
    import asyncio

    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/v1/models/titanic/predict", "raw_path": b"/v1/models/titanic/predict",
             "query_string": b"", "root_path": "", "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
             "headers": [(b"authorization", f"Bearer {key}".encode()), (b"content-type", b"application/json")]}
    with caplog.at_level("ERROR", logger="podium.serving"):
        asyncio.run(client.app(scope, receive, send))
    assert sent[0]["status"] == 499
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    text = client.get("/metrics").text
    assert 'podium_errors_total{kind="disconnected",model="titanic"} 1.0' in text
    assert 'kind="internal"' not in text


@pytest.mark.parametrize(("records", "field", "says"), [
    ([RECORD, {**RECORD, "sibsp": True}], "records[1].sibsp", "valid integer"),
    ([RECORD, {**RECORD, "age": "old"}], "records[1].age", "valid number"),
    ([{k: v for k, v in RECORD.items() if k != "class"}], "records[0].class", "Field required"),
    ([RECORD, "a row"], "records[1]", "should be an object"),
    ([], "records", "at least 1 item"),
])
def test_a_bad_batch_is_one_422_that_names_the_field(client, records, field, says):
    response = client.post("/v1/models/titanic/predict/batch", json={"records": records})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "\n" not in detail and f"'{field}'" in detail and says in detail
    assert response.json()["errors"][0]["field"] == field


def test_a_batch_answers_what_each_record_answers_alone(client):
    records = [RECORD, {**RECORD, "gender": "male", "class": "3rd", "age": None}, {**RECORD, "embarked": "Mars"}]
    batch = client.post("/v1/models/titanic/predict/batch", json={"records": records}).json()["predictions"]
    for record, answer in zip(records, batch):
        alone = client.post("/v1/models/titanic/predict", json=record).json()
        assert answer["prediction"] == alone["prediction"]
        assert answer["probabilities"] == pytest.approx(alone["probabilities"], abs=1e-9)
    fares = [{"age": 40, "sibsp": 0, "class": "3rd"}, {"age": 4, "sibsp": 3, "class": "1st"}]
    values = client.post("/v1/models/fare/predict/batch", json={"records": fares}).json()["predictions"]
    assert [v["prediction"] for v in values] == pytest.approx(
        [client.post("/v1/models/fare/predict", json=f).json()["prediction"] for f in fares], abs=1e-9)
