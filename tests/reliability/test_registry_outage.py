"""The registry goes away under load: predictions continue, and /readyz says why it is degraded;
a service started while its registry is down waits for it instead of crash-looping.

The trained package is registered in a PostgreSQL registry of its own; a service follows it
with clients posting predictions in a loop; the PostgreSQL server is then stopped (an
immediate shutdown, as a crash would). Every request keeps getting an answer from the loaded
version with the key verdict known before, /readyz turns ``degraded`` and names the cause,
and when the server is back the service is ``ready`` again — no worker restarted.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from reliability_support import RECORD, registry_of, start_service, until

from podium.registry import Registry
from podium.testing.servers import PG_BIN, free_port

pytestmark = pytest.mark.reliability


class Postgres:
    """A throwaway PostgreSQL server that a test can stop and start again."""

    def __init__(self) -> None:
        if not (PG_BIN / "initdb").exists():
            pytest.skip(f"PostgreSQL binaries not found in {PG_BIN}")
        self.data = Path(tempfile.mkdtemp(prefix="podium-pg-outage-"))
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres", "postgres")
        self.port = free_port()
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "registry")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/registry"

    def start(self) -> None:
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.data} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.data / "log"), "-w", "-o", opts, "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.data, ignore_errors=True)

    def _run(self, tool: str, *args: str, check: bool = True) -> None:
        command = [str(PG_BIN / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=check, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)


@pytest.fixture
def postgres() -> Iterator[Postgres]:
    server = Postgres()
    yield server
    server.remove()


class Load:
    """Clients posting predictions until stopped; (time, status or error) of every answer."""

    def __init__(self, url: str, key: str, clients: int = 3) -> None:
        self.url, self.key = url, key
        self.outcomes: list[tuple[float, int | str]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client, daemon=True) for _ in range(clients)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=20)

    def _client(self) -> None:
        with httpx.Client(base_url=self.url, headers={"X-API-Key": self.key}, timeout=10) as client:
            while not self._stop.is_set():
                try:
                    status: int | str = client.post("/v1/models/churn/predict", json=RECORD).status_code
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                self.outcomes.append((time.monotonic(), status))
                time.sleep(0.01)


def test_predictions_continue_while_the_registry_is_down_and_readyz_says_degraded(trained, postgres, tmp_path):
    package = registry_of(trained).load("churn@champion")  # the package podium trained
    registry = Registry(postgres.url, str(tmp_path / "artifacts"))
    registry.register("churn", package, alias="champion")
    _, key = registry.create_key("load", models=["churn"])
    registry.close()
    service = start_service(trained, ["churn@champion"], workers=2, registry_url=postgres.url,
                            artifacts_url=str(tmp_path / "artifacts"), access_log=None, prediction_log_rate=0,
                            reload_interval=0.3, key_cache_seconds=0.5, registry_grace=300)
    try:
        workers = service.workers()

        def readiness() -> dict:
            with httpx.Client(base_url=service.url, timeout=5) as client:
                return client.get("/readyz").json()

        with Load(service.url, key) as load:
            until(lambda: sum(1 for _, s in load.outcomes if s == 200) >= 20, 30, "answers before the outage")
            postgres.stop()
            stopped = time.monotonic()
            degraded = until(lambda: (r := readiness())["status"] == "degraded" and r, 20, "/readyz degraded")
            until(lambda: sum(1 for t, _ in load.outcomes if t > stopped + 3) >= 20, 30,
                  "answers well into the outage (key cache expired many times over)")
        during = [s for t, s in load.outcomes if t > stopped]
        print(f"{len(during)} predictions while the registry was down, statuses {sorted(set(map(str, during)))}")
        assert during and set(during) == {200}, sorted(set(map(str, during)))
        assert "registry unreachable" in degraded["reason"] and degraded["models"] == {"churn": 1}

        postgres.start()
        until(lambda: readiness()["status"] == "ready" and all(
            readiness()["status"] == "ready" for _ in range(6)), 30, "every worker ready again")
        with httpx.Client(base_url=service.url, timeout=10, headers={"X-API-Key": key}) as client:
            assert client.post("/v1/models/churn/predict", json=RECORD).status_code == 200
        assert service.workers() == workers  # nothing crashed or restarted
    finally:
        service.stop()


def test_workers_that_cannot_reach_the_registry_back_off_then_start(trained, postgres, tmp_path):
    package = registry_of(trained).load("churn@champion")
    registry = Registry(postgres.url, str(tmp_path / "artifacts"))
    registry.register("churn", package, alias="champion")
    _, key = registry.create_key("late-start", models=["churn"])
    registry.close()
    postgres.stop()  # the service starts while its registry is down
    port = free_port()
    settings = {"refs": ["churn@champion"], "registry_url": postgres.url, "artifacts_url": str(tmp_path / "artifacts"),
                "port": port, "workers": 2, "access_log": None, "prediction_log_rate": 0}
    code = "import sys\nfrom podium.serving import ServeOptions, serve\nserve(ServeOptions.model_validate_json(sys.argv[1]))\n"
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "-c", code, json.dumps(settings)], stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        until(lambda: log.read_text().count("trying again in") >= 4, 30, "workers retrying with backoff")
        assert process.poll() is None  # no crash loop: the service waits for its registry
        assert "died within" not in log.read_text()
        postgres.start()
        url = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            try:
                return httpx.post(f"{url}/v1/models/churn/predict", json=RECORD, headers={"X-API-Key": key},
                                  timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        until(answers, 90, "the service to start once the registry is back")
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
