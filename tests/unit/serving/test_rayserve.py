"""The Ray Serve target without a Ray cluster: options, the written config, one replica's app."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest
import yaml
from fastapi.testclient import TestClient
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from podium.errors import SpecError
from podium.registry import InputSchema, ModelPackage, OutputSchema, Registry
from podium.serving.deploy import RAY_SERVE_IMPORT_PATH, write_ray_serve
from podium.serving.options import ServeOptions
from podium.serving.rayserve import PodiumReplica, RayServeOptions, _drop_dead_figures, app_builder, app_name


@pytest.fixture
def registry(tmp_path) -> Registry:
    frame = pd.DataFrame({"tenure": [1, 5, 20, 40, 3, 60] * 5, "charges": [20.0, 80, 50, 30, 90, 25] * 5})
    target = pd.Series(["yes", "yes", "no", "no", "yes", "no"] * 5, name="churned")
    pipeline = make_pipeline(StandardScaler(), LogisticRegression()).fit(frame, target)
    registry = Registry(f"sqlite:///{tmp_path / 'registry.db'}", str(tmp_path / "artifacts"))
    registry.register("churn", ModelPackage(pipeline, InputSchema.from_frame(frame),
                                            OutputSchema.from_target(target, "binary"), metric="accuracy"))
    return registry


def _options(registry: Registry, tmp_path, **more) -> ServeOptions:
    return ServeOptions(refs=["churn@champion"], registry_url=registry.url, artifacts_url=str(tmp_path / "artifacts"),
                        access_log=None, prediction_log_rate=0, reload_interval=0, **more)


def test_scaling_options_become_serves_autoscaling_config():
    scaling = RayServeOptions(min_replicas=2, max_replicas=6, target_ongoing_requests=3, upscale_delay_s=5)
    assert scaling.autoscaling_config() == {
        "min_replicas": 2, "max_replicas": 6, "target_ongoing_requests": 3.0, "upscale_delay_s": 5.0,
        "downscale_delay_s": 600.0, "look_back_period_s": 30.0}
    assert RayServeOptions(metrics_interval_s=0.5, initial_replicas=1).autoscaling_config()["metrics_interval_s"] == 0.5
    with pytest.raises(ValueError, match=r"max_replicas \(1\) is below min_replicas \(2\)"):
        RayServeOptions(min_replicas=2, max_replicas=1)
    with pytest.raises(ValueError, match="initial_replicas"):
        RayServeOptions(min_replicas=1, max_replicas=2, initial_replicas=3)
    assert app_name("churn@champion") == "podium-churn" and app_name("fraud v2:3") == "podium-fraud-v2"


def test_a_replica_serves_create_apps_app_and_leaves_the_request_id_to_serve(registry, tmp_path):
    replica = PodiumReplica(_options(registry, tmp_path).model_dump(mode="json"))
    _, key = registry.create_key("replica")
    app = replica.__serve_build_asgi_app__()
    with TestClient(app, headers={"Authorization": f"Bearer {key}"}) as client:
        answer = client.post("/v1/models/churn/predict", json={"tenure": 3, "charges": 70.0},
                             headers={"X-Request-ID": "r-7"})
        assert answer.status_code == 200 and answer.json()["request_id"] == "r-7"
        assert "x-request-id" not in answer.headers  # Serve's proxy adds it, once
        assert client.post("/v1/models/churn/predict", json={"tenure": "x", "charges": 1}).status_code == 422
        assert client.post("/v1/models/churn/predict", json={"tenure": 3, "charges": 1},
                           headers={"Authorization": "Bearer pdm_wrong"}).status_code == 401
        assert "podium_requests_total" in client.get("/metrics").text


def test_a_starting_replica_drops_the_figures_of_dead_processes(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    gone, alive = int(dead.stdout), os.getpid()
    for pid in (gone, alive):
        (tmp_path / f"counter_{pid}.db").write_bytes(b"")
    (tmp_path / "gauge_livemostrecent_not-a-pid.db").write_bytes(b"")
    _drop_dead_figures(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"counter_{alive}.db", "gauge_livemostrecent_not-a-pid.db"]


def test_the_written_config_is_a_serve_config_whose_builder_makes_the_app(registry, tmp_path):
    serve_schema = pytest.importorskip("ray.serve.schema")
    scaling = RayServeOptions(min_replicas=2, max_replicas=5, target_ongoing_requests=4)
    result = write_ray_serve(registry, "churn@champion", tmp_path / "ray", options=_options(registry, tmp_path),
                             scaling=scaling, port=8100)
    assert sorted(p.name for p in result.files) == ["README.md", "serve_config.yaml"]
    config = yaml.safe_load((tmp_path / "ray" / "serve_config.yaml").read_text())
    serve_schema.ServeDeploySchema.model_validate(config)  # what `serve deploy` checks
    application = config["applications"][0]
    assert application["import_path"] == RAY_SERVE_IMPORT_PATH and application["name"] == "podium-churn"
    assert config["http_options"] == {"host": "0.0.0.0", "port": 8100}
    assert (application["args"]["serve"]["host"], application["args"]["serve"]["port"]) == ("0.0.0.0", 8100)
    args = application["args"]
    assert args["serve"]["refs"] == ["churn@champion"] and args["serve"]["registry_url"] == registry.url
    assert args["scaling"]["min_replicas"] == 2 and args["scaling"]["max_replicas"] == 5
    assert any("registry is on this machine" in step for step in result.next_steps)

    built = app_builder(args)  # what `serve run serve_config.yaml` calls; starts nothing
    from ray.serve import Application

    assert isinstance(built, Application)
    with pytest.raises(SpecError, match="Unknown args in the Serve config: replicas"):
        app_builder({**args, "replicas": 3})


def test_a_password_stays_out_of_the_config_and_a_bad_ref_writes_nothing(registry, tmp_path):
    options = _options(registry, tmp_path).model_copy(update={"registry_url": "postgresql://podium:s3cret@db/podium"})
    result = write_ray_serve(registry, "churn", tmp_path / "ray", options=options, scaling=RayServeOptions())
    text = (tmp_path / "ray" / "serve_config.yaml").read_text()
    assert "s3cret" not in text and "registry_url" not in text
    assert any("PODIUM_REGISTRY_URL" in step for step in result.next_steps)
    with pytest.raises(Exception, match="nope"):
        write_ray_serve(registry, "nope@champion", tmp_path / "empty", options=options, scaling=RayServeOptions())
    assert not (tmp_path / "empty").exists()
