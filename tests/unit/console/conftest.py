"""A real project folder (SQLite registry), an in-process console over it, and admin keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from console_support import write_table
from fastapi.testclient import TestClient

from podium.config import load_settings
from podium.console import ConsoleOptions, create_app
from podium.registry import Registry


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_table(tmp_path / "table.csv")
    return tmp_path


@pytest.fixture
def registry(project: Path) -> Iterator[Registry]:
    with Registry.from_settings(load_settings(project)) as registry:
        yield registry


@pytest.fixture
def admin_key(registry: Registry) -> str:
    return registry.create_key("admin", (), admin=True)[1]


@pytest.fixture
def user_key(registry: Registry) -> str:
    return registry.create_key("predictor", ["*"])[1]


@pytest.fixture
def anonymous(project: Path, registry: Registry) -> Iterator[TestClient]:
    app = create_app(load_settings(project), ConsoleOptions(poll_seconds=0.05), registry=registry)
    with TestClient(app) as client:
        yield client


@pytest.fixture
def client(anonymous: TestClient, admin_key: str) -> TestClient:
    anonymous.headers["Authorization"] = f"Bearer {admin_key}"
    return anonymous
