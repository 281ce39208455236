"""A real project folder (SQLite registry), an in-process console over it, and admin keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from podium.config import load_settings
from podium.console import ConsoleOptions, create_app
from podium.registry import Registry


def write_table(path: Path, rows: int = 120, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=rows), rng.normal(size=rows)
    pd.DataFrame({"x1": x1, "x2": x2, "colour": rng.choice(["red", "blue"], rows),
                  "y": (x1 + 0.5 * x2 > 0).astype(int)}).to_csv(path, index=False)
    return path


def spec_yaml(table: Path, *, min_score: float = 0.5, model: str = "toy") -> str:
    return (f"name: toy\nsource: {table}\ntarget: y\ncandidates: [logistic_regression]\n"
            f"budget: {{trials: 2}}\nensemble: false\nn_jobs: 1\ngate: {{min_score: {min_score}}}\n"
            f"register: {{model: {model}}}\npromotion: {{smoke_test: false}}\n")


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
