"""Staying up: a killed worker, an alias that moves, a graceful stop — all under load."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass, field

import httpx
import pytest
from live_service import RECORD, start_service, titanic_package

pytestmark = pytest.mark.integration

CLIENTS = 4


@dataclass
class Outcome:
    at: float
    status: int | None  # None: the connection failed
    version: int | None = None
    error: str = ""


@dataclass
class Load:
    """Clients posting records in a loop until stopped; every answer is recorded."""

    url: str
    key: str
    keepalive: bool = True
    outcomes: list[Outcome] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> Load:
        for _ in range(CLIENTS):
            thread = threading.Thread(target=self._client, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=20)

    def _client(self) -> None:
        limits = httpx.Limits(max_keepalive_connections=CLIENTS if self.keepalive else 0)
        with httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.key}"}, timeout=10,
                          limits=limits) as client:
            while not self._stop.is_set():
                try:
                    response = client.post("/v1/models/titanic/predict", json=RECORD)
                    version = response.json().get("version") if response.status_code == 200 else None
                    self.outcomes.append(Outcome(time.monotonic(), response.status_code, version))
                except httpx.HTTPError as exc:
                    self.outcomes.append(Outcome(time.monotonic(), None, error=type(exc).__name__))
                    time.sleep(0.01)


@pytest.fixture(scope="module")
def follower(project):
    running = start_service(project, ["titanic@champion"], reload_interval=0.3, access_log=None,
                            prediction_log_rate=0)
    yield running
    running.stop()


def test_moving_the_alias_under_load_switches_versions_without_a_failed_request(follower):
    before = follower.registry.resolve("titanic@champion").version
    with Load(follower.url, follower.key) as load:
        time.sleep(0.5)
        new = follower.registry.register("titanic", titanic_package(iterations=25), alias="champion")
        moved = time.monotonic()
        deadline = moved + 10
        while time.monotonic() < deadline:
            recent = [o for o in load.outcomes[-2 * CLIENTS:] if o.at > moved]
            if len(recent) == 2 * CLIENTS and all(o.version == new for o in recent):
                break
            time.sleep(0.1)
        time.sleep(0.3)
    failed = [o for o in load.outcomes if o.status != 200]
    assert not failed, f"{len(failed)} failed requests during the move: {failed[:3]}"
    versions = {o.version for o in load.outcomes}
    assert versions == {before, new}
    assert all(o.version == new for o in load.outcomes[-2 * CLIENTS:])
    switched = min(o.at for o in load.outcomes if o.version == new) - moved
    assert switched < 5, f"took {switched:.1f} s to serve the new version"
    assert len(load.outcomes) > 50


def test_killing_a_worker_loses_at_most_its_in_flight_requests(follower):
    victim = follower.workers()[0]
    with Load(follower.url, follower.key) as load:
        time.sleep(0.5)
        os.kill(victim, signal.SIGKILL)
        killed = time.monotonic()
        time.sleep(5.5)
    after = [o for o in load.outcomes if o.at > killed]
    failed = [o for o in after if o.status != 200]
    assert len(failed) <= CLIENTS, f"{len(failed)} requests lost; at most {CLIENTS} were in flight: {failed[:5]}"
    first_ok = min(o.at for o in after if o.status == 200)
    # usually at once (a client on the other worker); when every client's new connection hashed to the
    # dead worker's socket it waits there for the replacement: 1-2 s idle, 2.5 s seen under a CI run's load
    assert first_ok - killed < 5.0, f"the service answered again only after {first_ok - killed:.1f} s"
    assert all(o.status == 200 for o in after if o.at > killed + 5.0)
    deadline = time.monotonic() + 20
    while len(follower.workers()) < 2 or victim in follower.workers():
        assert time.monotonic() < deadline, "the dead worker was not replaced"
        time.sleep(0.2)


class HeldBatch:
    """A batch request held inside the service: its head is sent with ``Expect: 100-continue``,
    and the service's "100 Continue" says the app is reading it (in flight); the body follows
    when asked, then the answer is read whole."""

    def __init__(self, url: str, key: str, records: int) -> None:
        self.body = json.dumps({"records": [RECORD] * records}).encode()
        host, port = url.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        self.sock.sendall((f"POST /v1/models/titanic/predict/batch HTTP/1.1\r\nHost: {host}\r\n"
                           f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
                           f"Content-Length: {len(self.body)}\r\nExpect: 100-continue\r\n\r\n").encode())
        self.reader = self.sock.makefile("rb")
        assert self.reader.readline().startswith(b"HTTP/1.1 100"), "the service did not ask for the body"
        self.reader.readline()  # the blank line closing the interim answer

    def finish(self) -> tuple[int, dict]:
        self.sock.sendall(self.body)
        status = int(self.reader.readline().split()[1])
        length = 0
        while (line := self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        answer = json.loads(self.reader.read(length))
        self.sock.close()
        return status, answer


def test_sigterm_lets_in_flight_requests_finish_then_stops(project):
    running = start_service(project, ["titanic@champion"], workers=2, access_log=None, prediction_log_rate=0,
                            reload_interval=0)
    with Load(running.url, running.key) as load:
        workers = running.workers()
        held = [HeldBatch(running.url, running.key, 1000) for _ in range(2)]  # both in flight
        running.process.send_signal(signal.SIGTERM)
        stopping = time.monotonic()
        answers = [batch.finish() for batch in held]
        assert running.process.wait(timeout=20) == 0
        assert time.monotonic() - stopping < 15
    assert [status for status, _ in answers] == [200, 200]
    assert all(len(answer["predictions"]) == 1000 for _, answer in answers)
    assert not any(_alive(pid) for pid in workers)
    # answers given while stopping are whole answers; the rest found the door closed
    assert all(o.status == 200 for o in load.outcomes if o.status is not None)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
