"""Shared fixtures: real servers on 127.0.0.1, started once per test session."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")

from podium.testing import servers  # noqa: E402


def _serve(factory, request):
    try:
        ctx = factory()
        url = ctx.__enter__()
    except servers.ServerUnavailable as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(exc))
    request.addfinalizer(lambda: ctx.__exit__(None, None, None))
    return url


@pytest.fixture(scope="session")
def postgres_url(request) -> str:
    """SQLAlchemy URL of a real PostgreSQL server with an empty database."""
    return _serve(servers.postgres_server, request)


@pytest.fixture(scope="session")
def redis_url(request) -> str:
    """redis:// URL of a real redis-server."""
    return _serve(servers.redis_server, request)


@pytest.fixture(scope="session")
def mongo_url(request) -> str:
    """mongodb:// URL of a MongoDB-wire server (nx-27017)."""
    return _serve(servers.mongo_wire_server, request)
