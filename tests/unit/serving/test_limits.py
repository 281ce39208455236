"""Bounds of a service: bodies capped while read, load shed with 503, docs behind a key, outages."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi.testclient import TestClient
from serving_doubles import RECORD

from podium.serving.app import create_app
from podium.serving.health import RegistryHealth
from podium.serving.limits import BodyLimit
from podium.serving.workers import start_with_backoff


def _run_asgi(app, chunks: list[bytes], *, content_length: int | None = None):
    """Drive an ASGI app with a request body in ``chunks``; returns (status, receive calls, sent body)."""
    calls = 0
    sent: list[dict] = []

    async def receive():
        nonlocal calls
        calls += 1
        if calls <= len(chunks):
            return {"type": "http.request", "body": chunks[calls - 1], "more_body": calls < len(chunks)}
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    headers = [] if content_length is None else [(b"content-length", str(content_length).encode())]
    scope = {"type": "http", "method": "POST", "path": "/upload", "headers": headers}
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], calls, dict(start["headers"])


async def _reads_everything(scope, receive, send):
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def test_a_chunked_body_is_cut_off_one_chunk_past_the_limit():
    limited = BodyLimit(_reads_everything, limit_for=lambda scope: (10 * 1024, "upload"))
    status, calls, headers = _run_asgi(limited, [b"x" * 1024] * 1000)
    assert status == 413 and calls == 11  # 10 KiB allowed, the 11th chunk crosses: nothing more is read
    assert headers[b"connection"] == b"close"
    assert _run_asgi(limited, [b"x" * 1024] * 10)[0] == 200  # exactly the limit is fine


def test_a_declared_length_over_the_limit_is_refused_before_reading():
    limited = BodyLimit(_reads_everything, limit_for=lambda scope: (1024, "request"))
    status, calls, _ = _run_asgi(limited, [b"x" * 4096], content_length=4096)
    assert status == 413 and calls == 0


def test_predict_bodies_are_capped_declared_or_streamed(registry, key, options):
    app = create_app(registry, ["titanic"], options=options.model_copy(update={"max_request_bytes": 64 * 1024}))
    body = b'{"records": [' + b",".join([httpx.Request("POST", "/", json=RECORD).content] * 2000) + b"]}"

    def streamed():
        for start in range(0, len(body), 8192):
            yield body[start:start + 8192]

    with TestClient(app, headers={"X-API-Key": key}) as c:
        for content in (body, streamed()):
            refused = c.post("/v1/models/titanic/predict/batch", content=content,
                             headers={"Content-Type": "application/json"})
            assert refused.status_code == 413, refused.text
            assert "64 KiB" not in refused.json()["detail"] and "65536 bytes" in refused.json()["detail"]
        assert c.post("/v1/models/titanic/predict", json=RECORD).status_code == 200


def test_a_full_queue_sheds_load_with_503_and_retry_after(registry, key, options):
    # batches over 1000 rows always go through the queue (smaller ones may be scored inline)
    app = create_app(registry, ["titanic"], options=options.model_copy(
        update={"max_batch": 2000, "max_queue_rows": 1001}))

    async def main():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test",
                                     headers={"X-API-Key": key}) as client:
            batch = {"records": [RECORD] * 1001}
            return await asyncio.gather(*(client.post("/v1/models/titanic/predict/batch", json=batch)
                                          for _ in range(4)))

    with TestClient(app):  # runs the lifespan
        answers = asyncio.run(main())
    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) <= {200, 503} and statuses.count(200) >= 1 and statuses.count(503) >= 1, statuses
    shed = next(a for a in answers if a.status_code == 503)
    assert shed.headers["retry-after"] == "1" and "busy" in shed.json()["detail"]


def test_protect_docs_puts_docs_openapi_and_metrics_behind_a_key(registry, key, options):
    _, limited = registry.create_key("fare-only", models=["fare"])
    app = create_app(registry, ["titanic"], options=options.model_copy(update={"protect_docs": True}))
    with TestClient(app) as c:
        for path in ("/docs", "/openapi.json", "/metrics"):
            assert c.get(path).status_code == 401, path
            assert c.get(path, headers={"X-API-Key": "nope"}).status_code == 401, path
            assert c.get(path, headers={"X-API-Key": key}).status_code == 200, path
            assert c.get(path, headers={"X-API-Key": limited}).status_code == 200, path  # any valid key
        assert c.get("/healthz").status_code == 200 and c.get("/readyz").status_code == 200
        doc = c.get("/openapi.json", headers={"X-API-Key": key}).json()
        assert "/v1/models/titanic/predict" in doc["paths"]


def test_examples_and_metadata_hold_no_training_value_unless_asked(registry, key, options):
    real = registry.versions["titanic"][1].input_schema.columns[0].example  # "female" or "male"
    for real_examples in (False, True):
        app = create_app(registry, ["titanic"], options=options.model_copy(update={"real_examples": real_examples}))
        with TestClient(app, headers={"X-API-Key": key}) as c:
            doc = c.get("/openapi.json").json()
            example = doc["components"]["schemas"]["TitanicInput"]["examples"][0]
            columns = c.get("/v1/models/titanic").json()["input_schema"]["columns"]
        if real_examples:
            assert example["gender"] == real and columns[0]["example"] == real
        else:
            assert example["gender"] == "female"  # the first category, whatever the first training row held
            assert 1 <= example["age"] <= 80 and all("example" not in col for col in columns)


def test_an_unreachable_registry_degrades_the_service_but_known_keys_and_models_keep_working(registry, key, options):
    _, never_seen = registry.create_key("late")
    app = create_app(registry, ["titanic@champion"], options=options.model_copy(update={"registry_grace": 300}))
    with TestClient(app) as c:
        assert c.post("/v1/models/titanic/predict", json=RECORD, headers={"X-API-Key": key}).status_code == 200
        registry.down = True
        app.state.podium.watcher.poll_once()
        answer = c.post("/v1/models/titanic/predict", json=RECORD, headers={"X-API-Key": key})
        assert answer.status_code == 200 and answer.json()["version"] == 1
        unknown = c.post("/v1/models/titanic/predict", json=RECORD, headers={"X-API-Key": never_seen})
        assert unknown.status_code == 503 and unknown.headers["retry-after"]
        ready = c.get("/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "degraded"
        assert "registry unreachable" in ready.json()["reason"] and "down" in ready.json()["reason"]
        registry.down = False
        app.state.podium.watcher.poll_once()
        assert c.get("/readyz").json() == {"status": "ready", "models": {"titanic": 1},
                                           "worker": c.get("/readyz").json()["worker"]}


def test_registry_health_turns_down_after_the_grace_period():
    now = [0.0]
    health = RegistryHealth(60, clock=lambda: now[0])
    assert health.state() == ("ok", None)
    health.failed(ConnectionError("connection refused"))
    now[0] = 59
    state, reason = health.state()
    assert state == "degraded" and "59s" in reason and "connection refused" in reason
    now[0] = 61
    assert health.state()[0] == "down"
    health.succeeded()
    assert health.state() == ("ok", None)


def test_a_worker_that_cannot_reach_the_registry_backs_off_then_starts():
    from podium.errors import NotFoundError

    waits: list[float] = []
    attempts = iter([ConnectionError("down")] * 8 + ["app"])

    def start():
        outcome = next(attempts)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert start_with_backoff(start, first=1, most=30, sleep=waits.append) == "app"
    assert waits == [1, 2, 4, 8, 16, 30, 30, 30]
    with pytest.raises(NotFoundError):  # a bad ref is not an outage: no retry
        start_with_backoff(lambda: (_ for _ in ()).throw(NotFoundError("no model 'x'")), sleep=waits.append)
