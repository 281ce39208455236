"""Saved pipelines, bindings, column pickers, deploy downloads and endpoints in the console API,
with real requests over a real project (SQLite registry)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml
from console_support import spec_yaml, write_table
from fastapi.testclient import TestClient
from sqlalchemy import update

from podium.registry import Registry


def _upload(client: TestClient, name: str, table: Path) -> None:
    answer = client.post(f"/api/datasets/{name}/versions", content=table.read_bytes(),
                         headers={"Content-Type": "text/csv"})
    assert answer.status_code == 201, answer.text


def test_a_designed_pipeline_is_saved_in_versions_and_opens_again(client: TestClient, project: Path) -> None:
    text = spec_yaml(project / "table.csv") + "layout:\n  source: {x: 10, y: 20}\n"
    first = client.post("/api/pipelines", json={"yaml": text})
    assert first.status_code == 201, first.text
    assert first.json()["name"] == "toy" and first.json()["version"] == 1 and first.json()["saved"] is True
    again = client.post("/api/pipelines", json={"yaml": text})  # nothing changed: no new version
    assert again.status_code == 200 and again.json()["version"] == 1 and again.json()["saved"] is False
    graph = client.post("/api/specs/graph", json={"yaml": text.replace("min_score: 0.5", "min_score: 0.6")}).json()
    second = client.post("/api/pipelines", json=graph)  # the designer saves its graph
    assert second.status_code == 201 and second.json()["version"] == 2
    assert second.json()["saved_by"] == "admin"

    listed = client.get("/api/pipelines").json()
    assert [(p["name"], p["latest"], p["binding"]) for p in listed] == [("toy", 2, None)]
    detail = client.get("/api/pipelines/toy").json()
    assert [v["version"] for v in detail["versions"]] == [2, 1] and detail["binding"] is None
    opened = yaml.safe_load(client.get("/api/pipelines/toy/versions/1").json()["yaml"])
    assert opened == yaml.safe_load(text)  # the layout block is kept with it
    assert yaml.safe_load(client.get("/api/pipelines/toy/versions/2").json()["yaml"])["gate"] == {"min_score": 0.6}

    missing = client.get("/api/pipelines/toi")
    assert missing.status_code == 404 and "no pipeline named 'toi' is saved" in missing.json()["detail"]
    assert "toy" in missing.json()["detail"]  # the close name
    assert client.get("/api/pipelines/toy/versions/9").json()["detail"] == "pipeline 'toy' has no version 9."


def test_a_pipeline_podium_run_would_refuse_is_not_saved(client: TestClient, project: Path) -> None:
    text = spec_yaml(project / "table.csv").replace("[logistic_regression]", "[logistic_regresion]")
    answer = client.post("/api/pipelines", json={"yaml": text})
    assert answer.status_code == 400 and "logistic_regression" in answer.json()["detail"]  # did you mean
    answer = client.post("/api/pipelines", json={"yaml": "target: y\n"})
    assert answer.status_code == 400 and answer.json()["detail"] == "spec: 'source': required key is missing."
    assert client.get("/api/pipelines").json() == []


def test_a_saved_pipeline_is_bound_to_a_dataset_with_a_schedule_and_runs(client: TestClient, project: Path,
                                                                        registry: Registry) -> None:
    from podium.registry.pipelines import PipelineStore

    _upload(client, "sales", write_table(project / "v1.csv", rows=100, seed=4))
    text = spec_yaml(project / "elsewhere.csv", model="sales_model") + "layout:\n  source: {x: 1, y: 2}\n"
    assert client.post("/api/pipelines", json={"yaml": text}).status_code == 201

    unknown = client.put("/api/pipelines/toy/binding", json={"dataset": "salez"})
    assert unknown.status_code == 404 and "sales" in unknown.json()["detail"]
    bad_cron = client.put("/api/pipelines/toy/binding", json={"dataset": "sales", "schedule": "every day"})
    assert bad_cron.status_code == 400 and "'every day' is not a cron expression" in bad_cron.json()["detail"]
    no_version = client.put("/api/pipelines/toy/binding", json={"dataset": "sales", "version": 3})
    assert no_version.status_code == 404
    not_saved = client.put("/api/pipelines/other/binding", json={"dataset": "sales"})
    assert not_saved.status_code == 404

    bound = client.put("/api/pipelines/toy/binding", json={"dataset": "sales", "schedule": "0 3 * * *"})
    assert bound.status_code == 200, bound.text
    assert bound.json()["dataset"] == "sales" and bound.json()["schedule"] == "0 3 * * *"
    assert bound.json()["version"] == 1
    binding = PipelineStore(registry).binding("toy")  # what podium watch reads: the spec podium run takes
    assert "layout" not in binding.spec and binding.spec["register"]["model"] == "sales_model"
    assert client.get("/api/pipelines").json()[0]["binding"]["dataset"] == "sales"

    answer = client.post("/api/runs", json={"pipeline": "toy"})  # bound: on the dataset's latest version
    assert answer.status_code == 202, answer.text
    run_id = answer.json()["run_id"]
    with client.stream("GET", f"/api/runs/{run_id}/events") as stream:
        events = [json.loads(line[6:]) for line in stream.iter_lines() if line.startswith("data: ")]
    assert events[-1]["status"] == "registered", events
    lineage = client.get("/api/models/sales_model/versions/1").json()["lineage"]
    assert lineage["source"] == "dataset sales:1"
    _downloads_its_docker_context(client)
    _shows_its_feature_importance(client)

    assert client.delete("/api/pipelines/toy/binding").status_code == 204
    assert client.get("/api/pipelines/toy").json()["binding"] is None
    assert client.delete("/api/pipelines/toy/binding").status_code == 404
    assert client.post("/api/runs", json={"pipeline": "toy", "version": "one"}).status_code == 400


def _downloads_its_docker_context(client: TestClient) -> None:
    """The registered version's Docker context (podium deploy's) downloads as one zip."""
    zipped = client.get("/api/models/sales_model/versions/1/deploy?target=docker")
    assert zipped.status_code == 200, zipped.text
    assert zipped.headers["content-type"] == "application/zip"
    assert 'filename="sales_model-1-docker.zip"' in zipped.headers["content-disposition"]
    names = zipfile.ZipFile(io.BytesIO(zipped.content)).namelist()
    assert "sales_model-1-docker/Dockerfile" in names and "sales_model-1-docker/requirements.txt" in names
    assert any(n.startswith("sales_model-1-docker/project/") for n in names)
    bad = client.get("/api/models/sales_model/versions/1/deploy?target=helm")
    assert bad.status_code == 400 and bad.json()["detail"] == "target 'helm' is not one of docker, kubernetes."
    assert client.get("/api/models/sales_model/versions/7/deploy").status_code == 404


def _shows_its_feature_importance(client: TestClient) -> None:
    """Permutation importance on the version's holdout, rebuilt from its dataset version: y is x1 + x2/2 > 0."""
    answer = client.get("/api/models/sales_model/versions/1/importance")
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found["metric"] == "accuracy" and found["rows"] == 20 and 0.5 <= found["value"] <= 1.0
    importance = {c["column"]: c["importance"] for c in found["columns"]}
    assert set(importance) == {"x1", "x2", "colour"}
    assert found["columns"][0]["column"] == "x1" and importance["x1"] > 0.1
    assert abs(importance["colour"]) < importance["x1"]
    assert client.get("/api/models/sales_model/versions/1/importance").json() == found  # kept, not recomputed
    assert client.get("/api/models/sales_model/versions/7/importance").status_code == 404


def test_column_pickers_offer_the_sources_columns_with_their_types(client: TestClient, project: Path) -> None:
    answer = client.post("/api/specs/columns", json={"source": "table.csv"})  # relative: the project folder
    assert answer.status_code == 200, answer.text
    assert answer.json()["columns"] == [{"name": "x1", "type": "numeric"}, {"name": "x2", "type": "numeric"},
                                        {"name": "colour", "type": "categorical"}, {"name": "y", "type": "numeric"}]
    missing = client.post("/api/specs/columns", json={"source": "nope.csv"})
    assert missing.status_code in (400, 404) and "nope.csv" in missing.json()["detail"]
    assert client.post("/api/specs/columns", json={}).status_code == 400


def test_endpoints_list_registered_services_and_a_silent_one_is_gone(client: TestClient, registry: Registry) -> None:
    from podium.registry.services import ServiceStore, services_table

    assert client.get("/api/endpoints").json() == []
    store = ServiceStore(registry)
    store.beat("svc1", url="http://127.0.0.1:9", host="here", pid=1, refs=["toy@champion"],
               models=[{"ref": "toy@champion", "name": "toy", "version": 3}], workers=2, auth=True,
               heartbeat_seconds=10)
    [listed] = client.get("/api/endpoints").json()
    assert listed["id"] == "svc1" and listed["models"][0]["version"] == 3 and listed["workers"] == 2
    assert listed["status"] == "unreachable" and listed["alive"] is True and listed["auth_type"] == "API key"
    assert listed["docs_url"] == "http://127.0.0.1:9/docs"
    conflict = client.delete("/api/endpoints/svc1")
    assert conflict.status_code == 409 and "still sends heartbeats" in conflict.json()["detail"]

    with registry._write() as conn:  # its last heartbeat a minute ago: it stopped
        conn.execute(update(services_table).values(heartbeat_at=datetime.now(timezone.utc) - timedelta(minutes=1)))
    [listed] = client.get("/api/endpoints").json()
    assert listed["status"] == "gone" and listed["alive"] is False
    assert client.delete("/api/endpoints/svc1").status_code == 204
    assert client.get("/api/endpoints").json() == []
    assert client.delete("/api/endpoints/svc1").status_code == 404


def test_the_new_paths_answer_401_without_a_key(anonymous: TestClient) -> None:
    for method, path in [("GET", "/api/pipelines"), ("POST", "/api/pipelines"), ("GET", "/api/pipelines/x"),
                         ("PUT", "/api/pipelines/x/binding"), ("DELETE", "/api/pipelines/x/binding"),
                         ("POST", "/api/specs/columns"), ("GET", "/api/models/x/versions/1/deploy"),
                         ("DELETE", "/api/endpoints/x")]:
        assert anonymous.request(method, path).status_code == 401, path
