"""A running `podium serve` records itself in the registry's services table and keeps a
heartbeat; the console lists it as an endpoint, ready, with the version it answers with."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from live_service import RECORD, Service

from podium.config import load_settings
from podium.console import ConsoleOptions, create_app
from podium.registry.services import ServiceStore


def test_a_running_service_is_listed_as_an_endpoint_with_its_health(service: Service) -> None:
    store = ServiceStore(service.registry)
    deadline = time.monotonic() + 30
    records = []
    while time.monotonic() < deadline:  # each worker beats once when it starts, then every 10 s
        records = [r for r in store.list() if r.url == service.url]
        if records:
            break
        time.sleep(0.1)
    assert len(records) == 1, store.list()
    record = records[0]
    assert record.pid == service.process.pid and record.workers == 2 and record.auth is True
    assert record.refs == ["titanic@champion"]
    version = service.registry.resolve("titanic@champion").version
    assert record.models == [{"ref": "titanic@champion", "name": "titanic", "version": version}]
    assert record.alive

    app = create_app(load_settings(service.project), ConsoleOptions(auth=False), registry=service.registry)
    with TestClient(app, base_url="http://127.0.0.1") as console:
        listed = [e for e in console.get("/api/endpoints").json() if e["id"] == record.id]
        assert len(listed) == 1 and listed[0]["status"] == "ready", listed
        assert listed[0]["health"]["models"] == {"titanic": version}
        assert listed[0]["docs_url"] == f"{service.url}/docs"

        tried = console.post(f"/api/endpoints/{record.id}/predict",
                             json={"model": "titanic", "record": RECORD, "key": service.key}).json()
        assert tried["status"] == 200 and tried["body"]["version"] == version
        assert tried["body"]["prediction"] in ("yes", "no")
        anonymous = console.post(f"/api/endpoints/{record.id}/predict", json={"model": "titanic", "record": RECORD})
        assert anonymous.json()["status"] == 401  # the service's own refusal, passed on
        other = console.post(f"/api/endpoints/{record.id}/predict", json={"model": "nope", "record": RECORD})
        assert other.status_code == 404 and "serves no model 'nope'" in other.json()["detail"]
