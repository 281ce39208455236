"""The console API with real requests over a real project: catalog, specs, runs, models, datasets."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from console_support import spec_yaml, write_table
from fastapi.testclient import TestClient

from podium.console import app as console_app


def _events(client: TestClient, run_id: str, last: int | None = None) -> list[dict[str, Any]]:
    headers = {} if last is None else {"Last-Event-ID": str(last)}
    with client.stream("GET", f"/api/runs/{run_id}/events", headers=headers) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        events, current = [], None
        for line in answer.iter_lines():
            if line.startswith("id: "):
                current = int(line[4:])
            elif line.startswith("data: "):
                event = json.loads(line[6:])
                assert event["id"] == current
                events.append(event)
    return events


def _run(client: TestClient, text: str) -> tuple[str, list[dict[str, Any]]]:
    answer = client.post("/api/runs", json={"yaml": text})
    assert answer.status_code == 202, answer.text
    run_id = answer.json()["run_id"]
    return run_id, _events(client, run_id)


def test_the_catalog_lists_what_a_spec_can_name(client: TestClient) -> None:
    catalog = client.get("/api/catalog").json()
    assert set(catalog) == {"steps", "candidates", "metrics", "sources", "notifiers"}
    steps = {s["name"]: s for s in catalog["steps"]}
    assert steps["impute"]["description"] and steps["impute"]["params_schema"]["type"] == "object"
    assert "logistic_regression" in {c["name"] for c in catalog["candidates"]}
    assert {"accuracy", "rmse"} <= {m["name"] for m in catalog["metrics"]}
    assert "csv" in {s["name"] for s in catalog["sources"]}
    notifiers = {n["name"]: n for n in catalog["notifiers"]}
    assert "url" in notifiers["webhook"]["params_schema"]["properties"]


def test_yaml_and_graph_round_trip_over_http(client: TestClient, project: Path) -> None:
    text = spec_yaml(project / "table.csv")
    graph = client.post("/api/specs/graph", json={"yaml": text}).json()
    assert {"nodes", "edges", "layout"} <= set(graph)
    back = client.post("/api/specs/yaml", json=graph).json()["yaml"]
    assert yaml.safe_load(back) == {k: v for k, v in yaml.safe_load(text).items()}
    bad = client.post("/api/specs/graph", json={"yaml": "target: y\n"})
    assert bad.status_code == 400 and bad.json()["detail"] == "spec: 'source': required key is missing."
    assert client.post("/api/specs/graph", json={}).status_code == 400
    graph["nodes"] = [n for n in graph["nodes"] if n["type"] != "split"]
    answer = client.post("/api/specs/yaml", json=graph)
    assert answer.status_code == 400 and "needs a split node" in answer.json()["detail"]


def test_a_run_streams_its_trials_resumes_and_registers(client: TestClient, project: Path) -> None:
    run_id, events = _run(client, spec_yaml(project / "table.csv"))
    ids = [e["id"] for e in events]
    assert ids == list(range(1, len(ids) + 1))
    kinds = [e["type"] for e in events]
    assert kinds[0] == "queued" and kinds[-1] == "end" and events[-1]["status"] == "registered"
    assert "run_started" in kinds and kinds.count("trial_finished") == 2
    finished = next(e for e in events if e["type"] == "trial_finished")
    assert finished["candidate"] == "logistic_regression" and 0.5 <= finished["value"] <= 1.0
    assert _events(client, run_id, last=ids[-3]) == events[-2:]  # a reconnecting client gets what it missed
    assert _events(client, run_id, last=ids[-1]) == []  # after the end: the stream closes at once

    run = client.get(f"/api/runs/{run_id}").json()
    assert run["status"] == "registered" and run["model"] == {"name": "toy", "version": 1, "alias": "champion"}
    assert run["gate"]["passed"] is True and len(run["leaderboard"]) == 2
    assert any(r["id"] == run_id for r in client.get("/api/runs").json())
    registry_run = client.get(f"/api/runs/{run['registry_run_id']}").json()
    assert registry_run["status"] == "registered" and len(registry_run["leaderboard"]) == 2

    models = client.get("/api/models").json()
    assert [m["name"] for m in models] == ["toy"] and models[0]["aliases"] == {"champion": 1}
    version = client.get("/api/models/toy/versions/1").json()
    assert version["aliases"] == ["champion"] and version["lineage"]["run_id"] == run["registry_run_id"]
    assert client.get("/api/models/toy/versions/9").status_code == 404


def test_promote_rollback_and_why_the_champion_changed(client: TestClient, project: Path) -> None:
    first = spec_yaml(project / "table.csv")
    _run(client, first)
    second = first.replace("budget: {trials: 2}", "budget: {trials: 3}").replace("min_score: 0.5", "min_score: 0.4")
    _run(client, second.replace("promotion: {smoke_test: false}",
                                "promotion: {smoke_test: false, tolerance: 1.0}"))
    versions = {m["name"]: m for m in client.get("/api/models").json()}["toy"]["aliases"]
    assert versions == {"champion": 2}
    moved = client.post("/api/models/toy/promote", json={"version": 1}).json()
    assert (moved["previous"], moved["version"]) == (2, 1)
    back = client.post("/api/models/toy/rollback", json={}).json()
    assert (back["previous"], back["version"]) == (1, 2)
    assert client.post("/api/models/toy/promote", json={"version": 7}).status_code == 404
    kinds = [e["kind"] for e in client.get("/api/events", params={"model": "toy"}).json()]
    assert kinds[0] == "rolled_back" and "promoted_by_hand" in kinds[1:]  # newest first

    diff = client.get("/api/models/toy/diff", params={"a": 1, "b": 2}).json()
    changed = {c["path"]: (c["a"], c["b"]) for c in diff["spec"]}
    assert changed["budget.trials"] == (2, 3) and changed["gate.min_score"] == (0.5, 0.4)
    assert changed["promotion.tolerance"] == (0.0, 1.0)
    assert diff["data"]["same"] is True
    assert diff["gate"]["a"]["passed"] is True and diff["gate"]["a"]["threshold"] == pytest.approx(0.5)
    assert {c["path"] for c in diff["gate"]["changes"]} >= {"threshold", "message"}
    assert [row["candidate"] for row in diff["leaderboard"]] == ["logistic_regression"]


def test_a_run_that_fails_ends_with_the_error(client: TestClient, project: Path) -> None:
    run_id, events = _run(client, spec_yaml(project / "missing.csv"))
    assert events[-1] == {"type": "end", "status": "failed", "id": len(events)}
    error = next(e for e in events if e["type"] == "error")
    assert "missing.csv" in error["message"]
    assert client.get(f"/api/runs/{run_id}").json()["status"] == "failed"


def test_a_run_with_an_unknown_name_is_refused_before_it_starts(client: TestClient, project: Path) -> None:
    text = spec_yaml(project / "table.csv").replace("logistic_regression", "logistic_regresion")
    answer = client.post("/api/runs", json={"yaml": text})
    assert answer.status_code == 400 and "'logistic_regresion' is not a candidate" in answer.json()["detail"]
    assert client.get("/api/runs/nosuchrun").status_code == 404
    assert client.get("/api/runs/nosuchrun/events").status_code == 404


def test_dataset_upload_versions_and_limits(client: TestClient, project: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    first = write_table(project / "a.csv", seed=1).read_bytes()
    answer = client.post("/api/datasets/sales/versions", content=first, headers={"Content-Type": "text/csv"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["version"]["version"] == 1 and answer.json()["version"]["rows"] == 120
    same = client.post("/api/datasets/sales/versions", content=first, headers={"Content-Type": "text/csv"})
    assert same.status_code == 200 and same.json()["unchanged"] is True
    import pandas as pd

    parquet = project / "b.parquet"
    pd.read_csv(write_table(project / "b.csv", rows=80, seed=2)).to_parquet(parquet)
    answer = client.post("/api/datasets/sales/versions", content=parquet.read_bytes(),  # as a browser sends it
                         headers={"Content-Type": "application/octet-stream"})
    assert answer.status_code == 201 and answer.json()["version"]["version"] == 2
    listed = {d["name"]: d for d in client.get("/api/datasets").json()}
    assert [v["version"] for v in listed["sales"]["versions_list"]] == [1, 2]
    version = client.get("/api/datasets/sales/versions/2").json()
    assert version["rows"] == 80 and {c["name"] for c in version["schema"]} == {"x1", "x2", "colour", "y"}
    assert version["profile"] and version["drift"] is not None
    compared = client.get("/api/datasets/sales/compare", params={"a": 1, "b": 2}).json()
    assert compared["diff"]["rows"] == {"a": 120, "b": 80} and isinstance(compared["drifted_columns"], list)
    report = client.get("/api/datasets/sales/versions/2/report", params={"against": 1})
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    assert "Dataset sales:2" in report.text
    assert client.get("/api/datasets/sales/versions/9").status_code == 404
    refused = client.post("/api/datasets/sales/versions", content=b"\x89PNG\r\n\x1a\n\x00\x00",
                          headers={"Content-Type": "image/png"})
    assert refused.status_code == 415 and "neither CSV nor Parquet" in refused.json()["detail"]
    assert client.post("/api/datasets/sales/versions", content=b"", headers={"Content-Type": "text/csv"}).status_code == 400
    from podium.config import load_settings
    from podium.console import ConsoleOptions, create_app

    small = create_app(load_settings(project), ConsoleOptions(auth=False, max_upload_bytes=100))
    with TestClient(small, base_url="http://127.0.0.1:8080") as other:
        answer = other.post("/api/datasets/big/versions", content=first, headers={"Content-Type": "text/csv"})
        assert answer.status_code == 413 and "limit of 100 bytes" in answer.json()["detail"]


def test_a_run_that_misses_the_gate_says_so(client: TestClient, project: Path) -> None:
    assert client.get("/api/endpoints").json() == []
    run_id, events = _run(client, spec_yaml(project / "table.csv", min_score=0.999))
    assert events[-1]["status"] == "gate_failed"
    run = client.get(f"/api/runs/{run_id}").json()
    assert run["status"] == "gate_failed" and run["gate"]["passed"] is False
    assert "misses the threshold" in run["gate"]["message"]


def test_the_web_app_is_served_with_client_routes_or_a_page_saying_how_to_build_it(
        anonymous: TestClient, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from podium.config import load_settings

    monkeypatch.setattr(console_app, "STATIC", project / "not-built")
    with TestClient(console_app.create_app(load_settings(project))) as bare:
        page = bare.get("/runs/abc")
        assert page.status_code == 200 and "make demo" in page.text
    static = project / "static"
    (static / "assets").mkdir(parents=True)
    (static / "index.html").write_text("<html>console app</html>")
    (static / "assets" / "app.js").write_text("console.log(1)")
    monkeypatch.setattr(console_app, "STATIC", static)

    with TestClient(console_app.create_app(load_settings(project))) as web:
        assert web.get("/").text == "<html>console app</html>"
        assert web.get("/runs/abc").text == "<html>console app</html>"  # a client route
        assert web.get("/assets/app.js").text == "console.log(1)"
        assert web.get("/runs/assets/app.js").text == "console.log(1)"  # ./assets/ seen from a client route
        assert web.get("/assets/nope.js").status_code == 404
        assert web.get("/../../etc/passwd").text == "<html>console app</html>"
        assert web.get("/api/models").status_code == 401


def test_the_preflight_plan_warns_before_training(client: TestClient, project: Path) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(3)
    rows = 400
    y = (rng.random(rows) < 0.03).astype(int)  # 3 % positives
    pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(rows)],
        "country": "FR",
        "x": rng.normal(size=rows),
        "refund_issued": y,  # known only after the outcome
        "street": [f"street {i % 150}" for i in range(rows)],
        "y": y,
    }).to_csv(project / "leaky.csv", index=False)
    text = "source: leaky.csv\ntarget: y\nsteps: [drop_duplicates]\n"
    plan = client.post("/api/specs/preflight", json={"yaml": text})
    assert plan.status_code == 200, plan.text
    plan = plan.json()
    assert plan["sample_rows"] == rows and plan["task"] == "binary"
    assert plan["steps"][0] == {"step": "source", "rows": rows, "columns": 6, "notes": []}
    assert [s["rows"] for s in plan["steps"][1:]][0] == rows
    kinds = {(w["kind"], w["column"]) for w in plan["warnings"]}
    assert ("leakage", "refund_issued") in kinds and ("leakage", "x") not in kinds
    assert ("id_like", "customer_id") in kinds and ("constant", "country") in kinds
    assert ("one_hot_explosion", "street") in kinds and ("class_imbalance", "y") in kinds
    missing = client.post("/api/specs/preflight", json={"yaml": "source: nope.csv\ntarget: y\n"})
    assert missing.status_code in (400, 404) and "nope.csv" in missing.json()["detail"]


def test_a_bound_pipeline_runs_on_its_datasets_latest_version(client: TestClient, project: Path,
                                                               registry) -> None:  # type: ignore[no-untyped-def]
    from podium.registry.pipelines import PipelineStore

    table = write_table(project / "v1.csv", rows=100, seed=4)
    assert client.post("/api/datasets/sales/versions", content=table.read_bytes(),
                       headers={"Content-Type": "text/csv"}).status_code == 201
    spec = yaml.safe_load(spec_yaml(project / "elsewhere.csv", model="sales_model"))
    PipelineStore(registry).bind("sales_pipeline", spec, dataset="sales")
    answer = client.post("/api/runs", json={"pipeline": "sales_pipeline"})
    assert answer.status_code == 202, answer.text
    events = _events(client, answer.json()["run_id"])
    assert events[-1]["status"] == "registered", events
    version = client.get("/api/models/sales_model/versions/1").json()
    assert version["lineage"]["source"] == "dataset sales:1" and version["lineage"]["rows"] == 100
    missing = client.post("/api/runs", json={"pipeline": "sales_pipelin"})
    assert missing.status_code == 404 and "sales_pipeline" in missing.json()["detail"]
