"""`podium serve --engine ray`'s app on a real local Ray instance: the same service, autoscaled.

A model that `podium run` made (the quickstart's churn table) is served through Ray Serve's
FastAPI ingress on 127.0.0.1. Under concurrent load the replicas grow from 1 to at least 2 and
go back to 1 when the load stops; a replica killed with SIGKILL (at the most replicas, so that
a new one can only be its replacement) is replaced and only requests
in flight when it died may fail; promoting another version moves the app to it; a wrong key is
a 401 and a bad body a 422, as with `podium serve`. Then `podium serve --engine ray --ray-address`
joins the same instance, serves, and on Ctrl-C removes its app and nothing else.

Ray runs in a temporary folder of its own, without its dashboard, with its HTTP proxy on a free
port of 127.0.0.1 (``../shared/INFRA.md`` §4), and is shut down through its handles.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from podium.automation.promote import promote
from podium.registry import Registry
from podium.registry.services import ServiceRecord, ServiceStore
from podium.serving.options import ServeOptions
from podium.testing.servers import free_port

pytestmark = pytest.mark.integration

ray = pytest.importorskip("ray")
serve = pytest.importorskip("ray.serve")

from podium.serving.rayserve import DEPLOYMENT, RayServeOptions, build_app  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
PODIUM = str(Path(sys.executable).parent / "podium")
APP = "podium-churn-test"
PREDICT = "/v1/models/churn/predict"
RECORD = {"plan": "pro", "region": "north", "tenure_months": 12, "monthly_fee": 55, "support_tickets": 2,
          "signup_date": "2023-01-02"}
CLIENTS = 8


@dataclass
class Served:
    url: str
    key: str
    registry: Registry

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.key}"}, timeout=30)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    project = tmp_path_factory.mktemp("ray-serve-project")
    shutil.copy(ROOT / "examples" / "quickstart" / "customers.csv", project)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PODIUM_HOME": str(project)}
    # the model is trained while Ray starts: both take seconds
    training = subprocess.Popen([PODIUM, "run", "--data", "customers.csv", "--target", "churned", "--name", "churn",
                                 "--candidates", "logistic_regression", "--trials", "1", "--seed", "1"],
                                cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    temp_dir = tempfile.mkdtemp(prefix="podium-ray-test-")
    port = free_port()
    registry = None
    started = time.monotonic()
    try:
        ray.init(num_cpus=4, include_dashboard=False, _temp_dir=temp_dir, object_store_memory=128 * 2**20,
                 configure_logging=False, log_to_driver=False)
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        ray_up = time.monotonic() - started
        _, errors = training.communicate(timeout=120)
        assert training.returncode == 0, errors
        registry = Registry(f"sqlite:///{project / '.podium' / 'registry.db'}",
                            str(project / ".podium" / "artifacts"))
        _, key = registry.create_key("ray-serve-test")
        options = ServeOptions(refs=["churn@champion"], registry_url=registry.url, host="127.0.0.1", port=port,
                               artifacts_url=str(project / ".podium" / "artifacts"), reload_interval=0.5,
                               access_log=None, prediction_log_rate=0.0, metrics_dir=str(project / "metrics"))
        scaling = RayServeOptions(app_name=APP, min_replicas=1, max_replicas=2, target_ongoing_requests=1,
                                  upscale_delay_s=0.5, downscale_delay_s=2, look_back_period_s=1,
                                  metrics_interval_s=0.25, replica_cpus=0.5, health_check_period_s=1)
        serve.run(build_app(options, scaling), name=APP, route_prefix="/", blocking=False)
        print(f"\nray serve: Ray and Serve up in {ray_up:.1f} s, the app answering after "
              f"{time.monotonic() - started:.1f} s")
        yield Served(f"http://127.0.0.1:{port}", key, registry)
    finally:
        if training.poll() is None:
            training.kill()
            training.wait()
        if ray.is_initialized():
            serve.shutdown()
            ray.shutdown()
        if registry is not None:
            registry.close()
        shutil.rmtree(temp_dir, ignore_errors=True)


def running_replicas() -> int:
    deployments = serve.status().applications[APP].deployments
    return int(deployments[DEPLOYMENT].replica_states.get("RUNNING", 0))


def replica_pids(served: Served, at_least: int) -> set[int]:
    """Process ids of the replicas answering ``/readyz`` (each says its own), asked until
    ``at_least`` answered or 60 times (Ray's state API would need the dashboard)."""
    seen: set[int] = set()
    with httpx.Client(base_url=served.url, timeout=30) as client:
        for _ in range(60):
            response = client.get("/readyz")
            if response.status_code == 200:
                seen.add(int(response.json()["worker"]))
            if len(seen) >= at_least:
                break
    return seen


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 45.0) -> float:
    """Seconds until ``condition()`` holds; fails after ``timeout``."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.2)
    return time.monotonic() - started


@dataclass
class Load:
    """``CLIENTS`` threads posting predictions back to back until stopped."""

    served: Served
    results: list[tuple[float, float, int | str]] = field(default_factory=list)  # start, end, status
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> Load:
        self.threads = [threading.Thread(target=self._client, daemon=True) for _ in range(CLIENTS)]
        for thread in self.threads:
            thread.start()
        return self

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def _client(self) -> None:
        with self.served.client() as client:
            while not self.stop.is_set():
                started = time.monotonic()
                try:
                    status: int | str = client.post(PREDICT, json=RECORD).status_code
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                self.results.append((started, time.monotonic(), status))


def test_the_app_answers_and_refuses_as_podium_serve_does(served):
    with served.client() as client:
        ok = client.post(PREDICT, json=RECORD, headers={"X-Request-ID": "ray-1"})
        assert ok.status_code == 200, ok.text
        body = ok.json()
        assert body["model"] == "churn" and body["version"] == 1 and body["request_id"] == "ray-1"
        assert ok.headers.get_list("x-request-id") == ["ray-1"]
        assert body["prediction"] in ("yes", "no")
        assert sum(body["probabilities"].values()) == pytest.approx(1.0)

        wrong_key = client.post(PREDICT, json=RECORD, headers={"Authorization": "Bearer pdm_wrong"})
        assert wrong_key.status_code == 401 and "not valid" in wrong_key.json()["detail"]
        assert client.post(PREDICT, json=RECORD, headers={"Authorization": ""}).status_code == 401
        bad = client.post(PREDICT, json={**RECORD, "monthly_fee": "a lot"})
        assert bad.status_code == 422 and "'monthly_fee'" in bad.json()["detail"]
        malformed = client.post(PREDICT, content=b'{"plan": ', headers={"Content-Type": "application/json"})
        assert malformed.status_code == 400
        assert client.post("/v1/models/nope/predict", json=RECORD).status_code == 404

        schema = client.get("/openapi.json").json()["components"]["schemas"]["ChurnInput"]
        assert {"plan", "tenure_months", "monthly_fee"} <= set(schema["properties"])
        metrics = client.get("/metrics").text
        assert 'podium_requests_total{endpoint="predict",model="churn",status="401"}' in metrics
        assert 'podium_errors_total{kind="validation",model="churn"}' in metrics
        assert client.get("/readyz").json()["models"] == {"churn": 1}

    def recorded() -> list[ServiceRecord]:  # the console's endpoints list the application, once
        return [s for s in ServiceStore(served.registry).list() if s.url == served.url]

    wait_for(lambda: len(recorded()) == 1, "the application recorded in the registry", timeout=15)
    assert recorded()[0].refs == ["churn@champion"] and recorded()[0].alive


def test_replicas_scale_with_load_survive_a_kill_and_follow_the_alias(served):
    wait_for(lambda: running_replicas() == 1, "one replica at rest")
    load = Load(served).start()
    try:
        scale_up = wait_for(lambda: running_replicas() == 2, "a second replica under load")
        count = 2  # the most: a new replica now can only be a replacement
        wait_for(lambda: len(replica_pids(served, count)) == count, "both replicas answering")
        before = replica_pids(served, count)
        victim = min(before)
        killed_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)

        def replaced_() -> bool:
            if running_replicas() < count:
                return False
            now = replica_pids(served, count)
            return victim not in now and bool(now - before)

        replaced = wait_for(replaced_, "the killed replica replaced by a new one")
        settle = time.monotonic()
        wait_for(lambda: sum(1 for r in load.results if r[0] > settle) >= 20, "requests after the replacement")
    finally:
        load.finish()
    scale_down = wait_for(lambda: running_replicas() == 1, "back to one replica after the load", timeout=60)

    failed = [r for r in load.results if r[2] != 200]
    after_kill = [r for r in failed if r[0] >= killed_at]
    in_flight = [r for r in load.results if r[0] < killed_at < r[1]]
    print(f"\nray serve: 1 → 2 replicas in {scale_up:.1f} s; killed replica replaced in {replaced:.1f} s; "
          f"back to 1 in {scale_down:.1f} s; {len(load.results)} requests, {len(failed)} failed "
          f"({len(in_flight)} in flight at the kill, {len(after_kill)} failures sent after it; "
          f"{sorted({str(r[2]) for r in failed})})")
    assert not after_kill, f"requests sent after the kill failed: {after_kill[:5]}"
    assert all(r[0] < killed_at < r[1] for r in failed), "a request failed that was not in flight at the kill"
    assert sum(1 for r in load.results if r[2] == 200) > 100

    package = served.registry.load("churn:1")
    version = served.registry.register("churn", package, alias=None)
    promoted = time.monotonic()
    promote(served.registry, f"churn:{version}")
    with served.client() as client:
        wait_for(lambda: client.post(PREDICT, json=RECORD).json()["version"] == version,
                 f"answers from version {version} after the promotion", timeout=20)
        print(f"ray serve: version {version} answered {time.monotonic() - promoted:.1f} s after the promotion")
        assert {client.post(PREDICT, json=RECORD).json()["version"] for _ in range(10)} == {version}
        assert client.get("/readyz").json()["models"] == {"churn": version}


def test_podium_serve_engine_ray_joins_a_cluster_and_leaves_it_as_it_found_it(served):
    """The command itself, on the running cluster (``--ray-address``): it deploys the app, which
    answers, and Ctrl-C removes the app only — the cluster and Serve keep running."""
    serve.delete(APP)  # one application on route "/" at a time
    address = ray.get_runtime_context().gcs_address
    port = int(served.url.rsplit(":", 1)[1])  # Serve's proxy is already there
    project = Path(served.registry.url.removeprefix("sqlite:///")).parents[1]
    command = subprocess.Popen(
        [PODIUM, "serve", "churn@champion", "--engine", "ray", "--ray-address", address, "--port", str(port),
         "--max-replicas", "2", "--replica-cpus", "0.5", "--access-log", "off", "--log-rate", "0"],
        cwd=project, env={**os.environ, "OMP_NUM_THREADS": "1", "PODIUM_HOME": str(project)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        def answers() -> bool:
            assert command.poll() is None, command.communicate()[1][-3000:]
            app = serve.status().applications.get("podium-churn")
            return app is not None and app.status == "RUNNING"
        wait_for(answers, "podium serve --engine ray answering", timeout=60)
        with served.client() as client:
            answer = client.post(PREDICT, json=RECORD)
            assert answer.status_code == 200 and answer.json()["model"] == "churn"
            assert client.post(PREDICT, json=RECORD, headers={"Authorization": "Bearer pdm_wrong"}).status_code == 401
    finally:
        command.send_signal(signal.SIGINT)
        _, errors = command.communicate(timeout=60)
    assert command.returncode == 0, errors[-3000:]
    assert "on Ray Serve (application 'podium-churn', the Ray cluster at" in errors
    assert "podium-churn" not in serve.status().applications  # its app removed…
    assert ray.is_initialized() and serve.status().proxies  # …the cluster and Serve left running
