"""Fixtures of the reliability suite (helpers in reliability_support.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from reliability_support import Service, serve_fixture, trained_project


@pytest.fixture(scope="package")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project where podium trained churn v1 from dataset sales v1 (pipeline bound to it)."""
    return trained_project(tmp_path_factory)


@pytest.fixture
def serve(trained: Path) -> Iterator[Callable[..., Service]]:
    """Start services over the trained project (stopped at the end of the test)."""
    yield from serve_fixture(trained)
