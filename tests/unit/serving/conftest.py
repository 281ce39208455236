"""Fixtures of serving's unit tests: in-memory registry doubles and an in-process app."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from serving_doubles import Registry, classifier_package, regressor_package

from podium.serving.app import create_app
from podium.serving.options import ServeOptions


@pytest.fixture
def registry() -> Registry:
    registry = Registry()
    registry.register("titanic", classifier_package())
    registry.register("fare", regressor_package())
    return registry


@pytest.fixture
def key(registry: Registry) -> str:
    return registry.create_key("tests")[1]


@pytest.fixture
def options() -> ServeOptions:
    return ServeOptions(access_log=None, prediction_log_rate=0, reload_interval=0, key_cache_seconds=0)


@pytest.fixture
def client(registry: Registry, key: str, options: ServeOptions) -> Iterator[TestClient]:
    app = create_app(registry, ["titanic@champion", "fare"], options=options)
    with TestClient(app, headers={"Authorization": f"Bearer {key}"}) as c:
        yield c

