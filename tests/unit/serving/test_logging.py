from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from serving_doubles import RECORD

from podium.config import PredictionLogSettings
from podium.registry.predictions import PredictionLog
from podium.serving.app import create_app
from podium.serving.logging import AccessLog, PredictionSampler


def test_sampled_predictions_are_written_in_batches_and_read_back(tmp_path):
    log = PredictionLog(f"sqlite:///{tmp_path / 'registry.db'}")
    sampler = PredictionSampler(log.append, rate=1.0)
    sampler.offer("churn", 3, "r1", ["plan", "tenure"], [("pro", 12), ("basic", 1)],
                  [{"prediction": "yes"}, {"prediction": "no"}])
    assert log.read("churn") == []  # nothing written on the request path
    assert sampler.flush() == 2
    records = log.read("churn")
    assert [r["inputs"] for r in records] == [{"plan": "pro", "tenure": 12}, {"plan": "basic", "tenure": 1}]
    assert records[0]["outputs"] == {"prediction": "yes"} and records[0]["version"] == 3
    assert records[0]["time"].tzinfo is not None
    frame = log.frame("churn")
    assert list(frame["plan"]) == ["pro", "basic"] and list(frame["output.prediction"]) == ["yes", "no"]


def test_the_rate_decides_how_many_are_kept():
    kept = []
    sampler = PredictionSampler(kept.extend, rate=0.25, max_rows_per_interval=10_000)
    for i in range(2000):
        sampler.offer("m", 1, str(i), ["x"], [(i,)], [{"prediction": 0}])
    sampler.flush()
    assert 350 < len(kept) < 650
    off = PredictionSampler(kept.extend, rate=0)
    off.offer("m", 1, "r", ["x"], [(1,)], [{"prediction": 0}])
    assert off.flush() == 0


def test_a_failing_store_drops_records_instead_of_failing():
    def broken(records):
        raise OSError("disk full")

    sampler = PredictionSampler(broken, rate=1.0)
    sampler.offer("m", 1, "r", ["x"], [(1,)], [{"prediction": 0}])
    assert sampler.flush() == 0 and sampler.dropped == 1


def test_the_access_log_is_one_json_object_a_line(tmp_path, registry, key, options):
    path = tmp_path / "access.log"
    app = create_app(registry, ["titanic"], options=options.model_copy(update={"access_log": str(path)}))
    with TestClient(app, headers={"X-API-Key": key}) as c:
        c.post("/v1/models/titanic/predict", json=RECORD, headers={"X-Request-ID": "req-1"})
        c.post("/v1/models/titanic/predict", json={})
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(x["request_id"], x["status"], x["model"], x["version"]) for x in lines][0] == ("req-1", 200, "titanic", 1)
    assert lines[1]["status"] == 422 and lines[1]["ms"] > 0
    assert AccessLog(None).enabled is False


def test_the_service_logs_a_sample_of_its_predictions(tmp_path, registry, key, options):
    log = PredictionLog(f"sqlite:///{tmp_path / 'registry.db'}")
    registry.engine = log.engine
    app = create_app(registry, ["titanic"], options=options.model_copy(update={"prediction_log_rate": 1.0}))
    with TestClient(app, headers={"X-API-Key": key}) as c:
        rid = c.post("/v1/models/titanic/predict", json=RECORD).json()["request_id"]
        c.post("/v1/models/titanic/predict/batch", json={"records": [RECORD, RECORD]})
    records = log.read("titanic")  # the app flushes on shutdown
    assert len(records) == 3 and records[0]["request_id"] == rid
    assert records[0]["inputs"]["class"] == "1st" and "probabilities" in records[0]["outputs"]


def test_a_busy_service_logs_a_bounded_sample():
    kept = []
    sampler = PredictionSampler(kept.extend, rate=1.0, max_rows_per_interval=50)
    for i in range(30):
        sampler.offer("m", 1, str(i), ["x"], [(i,), (i,)], [{"prediction": 0}] * 2)
    assert sampler.flush() == 50 and sampler.skipped == 10
    sampler.offer("m", 1, "next", ["x"], [(1,)], [{"prediction": 0}])
    assert sampler.flush() == 1  # the cap is per interval


def _offer(log: PredictionLog, model: str, n: int, time: datetime | None = None) -> None:
    log.append([{"time": time, "model": model, "version": 1, "request_id": f"{model}-{i}",
                 "inputs": {"x": i}, "outputs": {"prediction": 0}} for i in range(n)])


def test_the_log_keeps_rows_for_so_many_days_and_so_many_rows_a_model(tmp_path):
    policy = PredictionLogSettings(keep_days=7, keep_rows=5)
    log = PredictionLog(f"sqlite:///{tmp_path / 'registry.db'}", policy=policy, prune_every=3600)
    now = datetime.now(UTC)
    _offer(log, "old", 3, time=now - timedelta(days=8))  # the first append prunes: these are gone at once
    assert log.read("old") == []
    _offer(log, "old", 2, time=now - timedelta(days=8))
    _offer(log, "churn", 8)
    _offer(log, "fraud", 2)
    assert len(log.read("old")) == 2 and len(log.read("churn")) == 8  # pruned at most once an hour here
    assert log.prune() == 2 + 3
    assert [r["request_id"] for r in log.read("churn")] == [f"churn-{i}" for i in range(3, 8)]  # the newest 5
    assert len(log.read("fraud")) == 2 and log.read("old") == []
    everything = PredictionLog(log.engine, policy=PredictionLogSettings(keep_days=None, keep_rows=None))
    _offer(everything, "old", 1, time=now - timedelta(days=800))
    assert everything.prune() == 0 and len(everything.read("old")) == 1


def test_named_inputs_are_dropped_or_hashed_before_they_are_written(tmp_path, monkeypatch):
    monkeypatch.setenv("PODIUM_TEST_LOG_KEY", "k3y")
    policy = PredictionLogSettings(drop=["email"], hash=["customer_id"], hash_key="${PODIUM_TEST_LOG_KEY}")
    log = PredictionLog(f"sqlite:///{tmp_path / 'registry.db'}", policy=policy)
    log.append([{"model": "churn", "version": 1, "request_id": str(i), "outputs": {"prediction": 0},
                 "inputs": {"email": "ada@example.com", "customer_id": cid, "tenure": 12}}
                for i, cid in enumerate(["C-17", "C-17", "C-99", None])])
    inputs = [r["inputs"] for r in log.read("churn")]
    assert all(set(i) == {"customer_id", "tenure"} for i in inputs)
    ids = [i["customer_id"] for i in inputs]
    assert ids[0] == ids[1] != ids[2] and ids[3] is None  # still countable, no longer readable
    assert ids[0].startswith("sha256:") and "C-17" not in ids[0]
    unkeyed = PredictionLog(log.engine, policy=PredictionLogSettings(hash=["customer_id"]))
    assert unkeyed._kept({"customer_id": "C-17"})["customer_id"] != ids[0]  # the key matters
    raw = (tmp_path / "registry.db").read_bytes()
    assert b"ada@example.com" not in raw and b"C-17" not in raw


def test_the_service_logs_by_the_project_policy(tmp_path, registry, key, options):
    log = PredictionLog(f"sqlite:///{tmp_path / 'registry.db'}")
    registry.engine = log.engine
    policy = PredictionLogSettings(drop=["gender"], hash=["embarked"])
    app = create_app(registry, ["titanic"], options=options.model_copy(
        update={"prediction_log_rate": 1.0, "prediction_log_policy": policy}))
    with TestClient(app, headers={"X-API-Key": key}) as c:
        assert c.post("/v1/models/titanic/predict", json=RECORD).status_code == 200
    (logged,) = log.read("titanic")
    assert "gender" not in logged["inputs"] and logged["inputs"]["class"] == "1st"
    assert logged["inputs"]["embarked"].startswith("sha256:")
