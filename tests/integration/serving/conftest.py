"""Fixtures: a project with a registered model, and a running service over it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from live_service import Service, registry_of, start_service, titanic_package


@pytest.fixture(scope="package")
def project(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("serving-project")
    registry_of(folder).register("titanic", titanic_package(), alias="champion")
    return folder


@pytest.fixture(scope="package")
def service(project) -> Iterator[Service]:
    running = start_service(project, ["titanic@champion"], reload_interval=0.5, key_cache_seconds=1.0,
                            prediction_log_rate=1.0, access_log=str(project / "access.log"))
    yield running
    running.stop()
