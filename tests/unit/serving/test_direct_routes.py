"""The scoring endpoints answer the same whether a request takes the direct route (``DirectRoutes``,
no FastAPI routing) or FastAPI's router: same status, body, and headers that matter."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from serving_doubles import RECORD, Registry

from podium.serving.app import DirectRoutes, create_app
from podium.serving.options import ServeOptions

pytest.importorskip("onnxruntime")

REQUESTS = [
    ("/v1/models/titanic/predict", RECORD),
    ("/v1/models/titanic/predict", {**RECORD, "age": "old"}),  # 422 naming the field
    ("/v1/models/titanic/predict", {**RECORD, "unknown": 1}),  # ignored, named in a header
    ("/v1/models/titanic/predict", b"{not json"),  # 400
    ("/v1/models/titanic/predict/batch", {"records": [RECORD, {**RECORD, "gender": "male"}]}),
    ("/v1/models/titanic/predict/batch", {"records": [RECORD] * 6}),  # 413: over max_batch
    ("/v1/models/titanic/predict/batch", {"records": []}),  # 422
    ("/v1/models/fare/predict", {k: v for k, v in RECORD.items() if k != "fare"}),
]


def _answers(registry: Registry, key: str, *, direct: bool) -> list[tuple[int, dict, dict[str, str]]]:
    options = ServeOptions(access_log=None, prediction_log_rate=0, reload_interval=0, key_cache_seconds=0,
                           max_batch=5)
    app = create_app(registry, ["titanic@champion", "fare"], options=options)
    if not direct:  # the same app without the direct route: every request goes through FastAPI's router
        app.user_middleware = [m for m in app.user_middleware if m.cls is not DirectRoutes]
    answers = []
    with TestClient(app) as client:
        for auth in (f"Bearer {key}", "Bearer wrong", None):
            headers = {"Authorization": auth} if auth else {}
            for path, body in REQUESTS:
                response = (client.post(path, content=body, headers={**headers, "Content-Type": "application/json"})
                            if isinstance(body, bytes) else client.post(path, json=body, headers=headers))
                payload = response.json()
                payload.pop("request_id", None)
                kept = {k: v for k, v in response.headers.items()
                        if k in ("content-type", "x-ignored-fields", "www-authenticate", "retry-after")}
                answers.append((response.status_code, payload, kept))
    layers, layer = [], app.middleware_stack
    while layer is not None:
        layers.append(type(layer))
        layer = getattr(layer, "app", None)
    assert (DirectRoutes in layers) is direct
    return answers


def test_the_direct_route_answers_as_fastapi_s_router_does(registry: Registry, key: str):
    direct = _answers(registry, key, direct=True)
    routed = _answers(registry, key, direct=False)
    assert [a[0] for a in direct] == [200, 422, 200, 400, 200, 413, 422, 200] + [401] * 16
    assert direct == routed
