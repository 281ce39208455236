"""The registry against a real PostgreSQL: the same flow as on SQLite, and concurrent writers."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from podium.errors import IntegrityError, NotFoundError
from podium.registry import InputSchema, ModelPackage, OutputSchema, Registry
from podium.registry.store import Registry as _Registry

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def package() -> ModelPackage:
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"x1": rng.normal(size=80), "x2": rng.normal(size=80)})
    y = pd.Series(np.where(X["x1"] + X["x2"] > 0, "up", "down"), name="move")
    return ModelPackage(LogisticRegression().fit(X, y), InputSchema.from_frame(X),
                        OutputSchema.from_target(y, "binary"), "accuracy", {"accuracy": 0.9})


@pytest.fixture
def registry(postgres_url: str, tmp_path: Path):
    # the server is shared by the session: each test works on its own model names
    url = postgres_url.replace("postgresql+psycopg://", "postgresql://")  # the driver is added for us
    with Registry(url, str(tmp_path / "artifacts")) as reg:
        yield reg


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_register_alias_resolve(registry: Registry, package: ModelPackage) -> None:
    assert registry.engine.dialect.name == "postgresql"
    name = _name("churn")
    run_id = registry.start_run(name, spec={"target": "move"}, task="binary", metric="accuracy",
                                dataset_fingerprint="f" * 64, source="memory")
    registry.record_trials(run_id, [
        {"rank": 1, "candidate": "logistic_regression", "status": "ok", "score": 0.9,
         "metrics": {"accuracy": 0.9, "auc": float("nan")}, "size_bytes": np.int64(2048)},
        {"rank": None, "candidate": "mlp", "status": "failed", "score": float("nan"), "error": "boom"},
    ])
    assert registry.register(name, package, run_id=run_id) == 1
    assert registry.register(name, package, run_id=run_id) == 2
    registry.finish_run(run_id, "succeeded", summary={"gate": {"passed": True}})

    assert registry.resolve(name).version == 2
    assert registry.set_alias(name, "champion", 1) == 2
    assert registry.resolve(f"{name}@champion").version == 1
    assert registry.resolve(f"{name}@latest").version == 2
    assert registry.resolve(f"{name}:2").run_id == run_id
    best, failed = registry.get_trials(run_id)
    assert best["metrics"] == {"accuracy": 0.9, "auc": None} and best["size_bytes"] == 2048
    assert failed["score"] is None and failed["error"] == "boom"
    assert registry.get_run(run_id[:10]).status == "succeeded"
    X = pd.DataFrame({"x1": [1.0, -1.0], "x2": [1.0, -1.0]})
    assert registry.load(name).predict_frame(X)[0]["prediction"].tolist() == ["up", "down"]
    with pytest.raises(NotFoundError, match=f"Did you mean '{name}'"):
        registry.resolve(name[:-1] + "x")


def test_failed_publish_rolls_back(registry: Registry, package: ModelPackage, monkeypatch) -> None:
    name = _name("rollback")
    registry.register(name, package)

    def crash(self, *args, **kwargs):
        raise IntegrityError("simulated failure inside the publishing transaction")

    monkeypatch.setattr(_Registry, "_move_alias", crash)
    with pytest.raises(IntegrityError, match="simulated"):
        registry.register(name, package)
    monkeypatch.undo()
    assert [v.version for v in registry.list_versions(name)] == [1]
    assert registry.resolve(f"{name}@champion").version == 1
    assert not registry.artifacts.exists(f"models/{name}/2")


def test_api_keys(registry: Registry) -> None:
    key_name = _name("svc")
    _, plaintext = registry.create_key(key_name, models=["churn"])
    assert registry.check_key(plaintext, "churn") == "ok"
    assert registry.check_key(plaintext, "sales") == "forbidden"
    registry.revoke_key(key_name)
    assert registry.check_key(plaintext, "churn") == "revoked"


def test_concurrent_registers_get_distinct_versions(postgres_url: str, tmp_path: Path,
                                                    package: ModelPackage) -> None:
    name, artifacts = _name("race"), str(tmp_path / "artifacts")
    writers, rounds = 4, 3
    barrier = threading.Barrier(writers)
    versions: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with Registry(postgres_url, artifacts) as reg:  # one engine per writer, as processes have
                reg.list_models()
                barrier.wait()
                for _ in range(rounds):
                    versions.append(reg.register(name, package))
        except BaseException as exc:  # noqa: BLE001  reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(versions) == list(range(1, writers * rounds + 1))
    with Registry(postgres_url, artifacts) as reg:
        listed = reg.list_versions(name)
        assert [v.version for v in listed] == sorted(versions)
        assert len({v.checksum for v in listed}) == len(listed)  # each version is its own package
        assert reg.load(f"{name}:{writers * rounds}").checksum
