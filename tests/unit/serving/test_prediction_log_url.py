"""The prediction log can live in a database of its own (a mounted volume, a remote one): an
image whose registry is read-only still keeps one."""

from __future__ import annotations

from fastapi.testclient import TestClient
from serving_doubles import RECORD

from podium.registry.predictions import PredictionLog
from podium.serving.app import create_app


def test_predictions_are_logged_where_the_options_say(registry, key, options, tmp_path):
    url = f"sqlite:///{tmp_path / 'volume' / 'predictions.db'}"
    options = options.model_copy(update={"prediction_log_rate": 1.0, "prediction_log_url": url})
    app = create_app(registry, ["titanic"], options=options)
    with TestClient(app, headers={"X-API-Key": key}) as client:
        rid = client.post("/v1/models/titanic/predict", json=RECORD).json()["request_id"]
    # the app's lifespan ended: the sampler has written what it held
    logged = PredictionLog(url).read("titanic")
    assert [r["request_id"] for r in logged] == [rid]
