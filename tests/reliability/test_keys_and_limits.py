"""No key can do more than it was given, and no request can make a worker hold more than its limits.

Against a real `podium serve` (uvicorn on 127.0.0.1) of a model podium trained: the service takes
no uploads (the console does), and a key scoped to one model cannot upload through the console
either (and so cannot start a retraining that would move the champion); revocations and rights
changes apply within seconds, from the registry or a keys file; a 50 MiB prediction body is
refused with 413 while the worker's memory stays flat (the console's upload limit:
tests/integration/console/test_console_process.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from reliability_support import NEW_CUSTOMERS, RECORD, cli, registry_of, until

from podium.registry.datasets import DatasetStore

pytestmark = pytest.mark.reliability

MiB = 2**20


def _versions(project: Path) -> list[int]:
    return [v.version for v in DatasetStore(registry_of(project)).versions("sales")]


def test_a_model_scoped_key_cannot_upload_and_the_champion_does_not_move(trained, serve):
    from fastapi.testclient import TestClient

    from podium.config import load_settings
    from podium.console import create_app

    service = serve()
    scoped = cli(trained, "keys", "create", "--name", "churn-only", "--model", "churn")
    other = cli(trained, "keys", "create", "--name", "returns-loader", "--upload", "returns")
    assert scoped.returncode == 0 and other.returncode == 0, scoped.stderr + other.stderr
    before = (_versions(trained), registry_of(trained).resolve("churn@champion").version)
    body = NEW_CUSTOMERS.read_bytes()
    console = create_app(load_settings(trained), registry=registry_of(trained))
    with httpx.Client(base_url=service.url, timeout=30) as client, TestClient(console) as admin_plane:
        for key, held in ((scoped.stdout.strip(), "none"), (other.stdout.strip(), "returns")):
            assert client.post("/v1/models/churn/predict", json=RECORD,
                               headers={"X-API-Key": key}).status_code == 200
            # the model service (the data plane) takes no upload at all
            assert client.post("/v1/datasets/sales/versions", content=body,
                               headers={"X-API-Key": key, "Content-Type": "text/csv"}).status_code == 404
            refused = admin_plane.post("/api/datasets/sales/versions", content=body,
                                       headers={"X-API-Key": key, "Content-Type": "text/csv"})
            assert refused.status_code == 403, refused.text
            assert refused.json()["detail"] == (
                f"This key may not upload to dataset 'sales' (it has upload rights on: {held}).")
    # nothing stored: no dataset version, so nothing for a watcher to retrain on; the champion stays
    assert (_versions(trained), registry_of(trained).resolve("churn@champion").version) == before
    assert cli(trained, "watch", "--once").returncode == 0  # a watcher finds nothing new to train
    assert registry_of(trained).resolve("churn@champion").version == before[1]


def test_revocation_and_rights_changes_apply_within_seconds_without_a_restart(trained, serve):
    service = serve(key_cache_seconds=1.0)
    key = cli(trained, "keys", "create", "--name", "short-lived", "--model", "churn").stdout.strip()
    workers = service.workers()

    def status() -> int:
        with httpx.Client(base_url=service.url, timeout=10) as client:
            return client.post("/v1/models/churn/predict", json=RECORD, headers={"X-API-Key": key}).status_code

    assert status() == 200
    assert cli(trained, "keys", "rights", "short-lived", "--model", "other").returncode == 0
    until(lambda: status() == 403, 10, "the rights change to apply")
    assert cli(trained, "keys", "rights", "short-lived", "--model", "churn").returncode == 0
    until(lambda: status() == 200, 10, "the rights to come back")
    assert cli(trained, "keys", "revoke", "short-lived").returncode == 0
    until(lambda: status() == 401, 10, "the revocation to apply")
    assert service.workers() == workers  # no worker restarted


def test_a_keys_file_is_re_read_when_it_changes(trained, serve, tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("# mounted secret\nfirst-deploy-key models=churn\n")
    service = serve(keys_file=str(keys), key_cache_seconds=1.0)

    def status(key: str) -> int:
        with httpx.Client(base_url=service.url, timeout=10) as client:
            return client.post("/v1/models/churn/predict", json=RECORD, headers={"X-API-Key": key}).status_code

    assert status("first-deploy-key") == 200 and status("second-deploy-key") == 401
    keys.write_text("second-deploy-key models=churn\n")
    until(lambda: status("second-deploy-key") == 200, 10, "the new key from the keys file")
    until(lambda: status("first-deploy-key") == 401, 10, "the removed key to be refused")


# -- bounded memory -----------------------------------------------------------------------------
def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


class PeakRss:
    """The highest resident memory of some processes, sampled in a thread until stopped."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.before = sum(_rss(p) for p in pids)
        self.peak = self.before
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, sum(_rss(p) for p in self.pids))


class Counted:
    """A body streamed from a generator (chunked: no Content-Length), counting what was taken."""

    def __init__(self, total: int, chunk: int = MiB, head: bytes = b"") -> None:
        self.total, self.chunk, self.head, self.sent = total, chunk, head, 0

    def __iter__(self) -> Iterator[bytes]:
        block = b"x" * self.chunk
        if self.head:
            self.sent += len(self.head)
            yield self.head
        while self.sent < self.total:
            self.sent += len(block)
            yield block


def test_huge_bodies_get_413_while_memory_stays_flat(trained, serve):
    key = cli(trained, "keys", "create", "--name", "bulk-caller", "--model", "churn").stdout.strip()
    service = serve()  # predict bodies: the default limit, 16 MiB
    [worker] = service.workers()
    predict = Counted(50 * MiB, head=b'{"records": [')
    with PeakRss([worker]) as memory, httpx.Client(base_url=service.url, timeout=60,
                                                    headers={"X-API-Key": key}) as client:
        refused_predict = client.post("/v1/models/churn/predict/batch", content=predict,
                                      headers={"Content-Type": "application/json"})
        declared = client.post("/v1/models/churn/predict/batch", content=b" " * (50 * MiB),
                               headers={"Content-Type": "application/json"})
    for refused in (refused_predict, declared):
        assert refused.status_code == 413, refused.text
        assert "larger than the limit" in refused.json()["detail"]
    assert "16 MiB" in refused_predict.json()["detail"]
    # the server stopped reading: the client could push only the limit plus what socket buffers hold
    assert predict.sent < 16 * MiB + 32 * MiB, predict.sent / MiB
    grew = memory.peak - memory.before
    print(f"predict: {predict.sent / MiB:.0f} MiB of 50 taken; "
          f"worker RSS {memory.before / MiB:.0f} MiB, peak +{grew / MiB:.1f} MiB")
    assert grew < 100 * MiB, f"the worker grew by {grew / MiB:.0f} MiB"
    with httpx.Client(base_url=service.url, timeout=10, headers={"X-API-Key": key}) as client:
        assert client.post("/v1/models/churn/predict", json=RECORD).status_code == 200  # still serving
