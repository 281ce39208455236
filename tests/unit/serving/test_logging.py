from __future__ import annotations

import json

from fastapi.testclient import TestClient
from serving_doubles import RECORD

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
