"""Fixtures of the reliability suite (helpers in reliability_support.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from reliability_support import Service, serve_fixture, trained_project


@pytest.fixture(scope="package")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project where podium trained churn v1 from dataset sales v1 (pipeline bound to it)."""
    return trained_project(tmp_path_factory)


@pytest.fixture
def serve(trained: Path) -> Iterator[Callable[..., Service]]:
    """Start services over the trained project (stopped at the end of the test)."""
    yield from serve_fixture(trained)


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """A fresh, empty registry database: None for the project's default SQLite file, or a
    database of its own on the session's PostgreSQL server."""
    if request.param == "sqlite":
        yield None
        return
    server = request.getfixturevalue("postgres_url")
    name = f"podium_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
