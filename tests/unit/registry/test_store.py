from __future__ import annotations

import dataclasses
import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from podium.config import Settings
from podium.errors import IntegrityError, NotFoundError, SpecError, UserError
from podium.registry import ModelPackage, Registry
from podium.registry import tables as t
from podium.registry.store import Registry as _Registry

TRIALS = [
    {"rank": 1, "trial": 0, "candidate": "lightgbm", "params": {"n_estimators": 100}, "status": "ok",
     "score": 0.91, "cv_score": None, "metrics": {"accuracy": 0.91}, "fit_seconds": 1.5,
     "predict_ms_per_1000": 2.0, "size_bytes": 12345, "error": None},
    {"rank": None, "trial": 1, "candidate": "mlp", "params": {}, "status": "timeout", "score": float("nan"),
     "metrics": {}, "fit_seconds": 30.0, "predict_ms_per_1000": None, "size_bytes": None,
     "error": "ran past its deadline"},
]


@pytest.fixture
def registry(tmp_path: Path):
    with Registry(f"sqlite:///{tmp_path / 'state' / 'registry.db'}", str(tmp_path / "artifacts")) as reg:
        yield reg


def _start(registry: Registry, name: str = "churn") -> str:
    return registry.start_run(name, spec={"name": name, "target": "churn"}, task="binary", metric="accuracy",
                              dataset_fingerprint="f" * 64, source="data/churn.csv")


def _version_rows(registry: Registry) -> list[tuple[str, int, str]]:
    with registry.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(t.model_versions.c.name, t.model_versions.c.version,
                                                      t.model_versions.c.state))]


# -- runs -------------------------------------------------------------------------------------
def test_runs_and_trials(registry: Registry) -> None:
    run_id = _start(registry)
    assert registry.get_run(run_id).status == "running"
    registry.record_trials(run_id, TRIALS)
    registry.finish_run(run_id, "succeeded", summary={"gate": {"passed": True, "threshold": 0.8}})
    run = registry.get_run(run_id[:8])
    assert (run.id, run.status, run.task, run.metric) == (run_id, "succeeded", "binary", "accuracy")
    assert run.spec == {"name": "churn", "target": "churn"} and run.summary["gate"]["passed"] is True
    assert run.finished_at >= run.started_at and run.started_at.tzinfo is not None
    trials = registry.get_trials(run_id)
    assert [tr["candidate"] for tr in trials] == ["lightgbm", "mlp"]
    assert trials[0]["params"] == {"n_estimators": 100} and trials[0]["trial"] == 0
    assert trials[1]["score"] is None and trials[1]["status"] == "timeout"
    assert json.dumps(dataclasses.asdict(run), default=str)


def test_list_runs_newest_first_and_by_name(registry: Registry) -> None:
    first, second, other = _start(registry), _start(registry), _start(registry, "sales")
    assert [r.id for r in registry.list_runs()] == [other, second, first]
    assert [r.id for r in registry.list_runs(name="churn", limit=1)] == [second]


def test_unknown_run_points_to_runs_list(registry: Registry) -> None:
    _start(registry)
    with pytest.raises(NotFoundError, match=r"^no run with id 'nope'\. Hint: list the runs: podium runs list$"):
        registry.get_run("nope")
    with pytest.raises(NotFoundError):
        registry.finish_run("nope", "failed", summary={})


def test_ambiguous_run_prefix(registry: Registry) -> None:
    ids = [_start(registry) for _ in range(40)]
    shared = next(a[0] for a in ids if sum(b[0] == a[0] for b in ids) > 1)
    with pytest.raises(UserError, match=f"run id '{shared}' matches several runs"):
        registry.get_run(shared)


def test_run_status_is_checked(registry: Registry) -> None:
    run_id = _start(registry)
    with pytest.raises(ValueError, match="not 'done'"):
        registry.finish_run(run_id, "done", summary={})
    with pytest.raises(ValueError, match="trial status 'weird'"):
        registry.record_trials(run_id, [{"candidate": "x", "status": "weird"}])


# -- models -----------------------------------------------------------------------------------
def test_register_versions_and_move_the_champion(registry: Registry, classifier_package: ModelPackage,
                                                 frame: pd.DataFrame) -> None:
    run_id = _start(registry)
    assert registry.register("churn", classifier_package, run_id=run_id) == 1
    assert registry.register("churn", classifier_package, run_id=run_id) == 2
    assert registry.resolve("churn").version == 2
    assert registry.resolve("churn@champion").aliases == ["champion"]
    assert registry.resolve("churn:1").aliases == []
    assert [v.version for v in registry.list_versions("churn")] == [1, 2]
    assert registry.artifacts.exists("models/churn/1") and registry.artifacts.exists("models/churn/2")

    loaded = registry.load("churn:1")
    X = frame.drop(columns=["churn"])
    np.testing.assert_allclose(loaded.pipeline.predict_proba(X), classifier_package.pipeline.predict_proba(X))

    [model] = registry.list_models()
    assert (model.name, model.latest_version, model.versions, model.aliases) == ("churn", 2, 2, {"champion": 2})
    assert (model.metric, model.score) == ("accuracy", 0.95)
    moves = registry.list_events(kind="alias_moved", model="churn")
    assert [(e.payload["from"], e.payload["to"]) for e in moves] == [(1, 2), (None, 1)]


def test_register_without_alias_and_name_falls_back_to_latest(registry: Registry,
                                                              classifier_package: ModelPackage) -> None:
    registry.register("churn", classifier_package, run_id=None, alias=None)
    registry.register("churn", classifier_package, run_id=None, alias="staging")
    assert registry.resolve("churn").version == 2  # no champion: the latest
    registry.set_alias("churn", "champion", 1)
    assert registry.resolve("churn").version == 1
    assert registry.resolve("churn@latest").version == 2
    assert registry.resolve("churn@staging").version == 2


def test_set_and_delete_alias(registry: Registry, classifier_package: ModelPackage) -> None:
    registry.register("churn", classifier_package)
    registry.register("churn", classifier_package)
    assert registry.set_alias("churn", "champion", 1) == 2
    assert registry.resolve("churn@champion").version == 1
    with pytest.raises(NotFoundError, match=r"model 'churn' has no version 7 \(its versions: 1-2\)"):
        registry.set_alias("churn", "champion", 7)
    assert registry.delete_alias("churn", "champion") == 1
    with pytest.raises(NotFoundError, match="model 'churn' has no alias 'champion'"):
        registry.delete_alias("churn", "champion")
    with pytest.raises(SpecError, match="'latest' cannot be an alias"):
        registry.set_alias("churn", "latest", 1)


def test_unknown_refs_suggest_close_names(registry: Registry, classifier_package: ModelPackage) -> None:
    registry.register("churn", classifier_package)
    with pytest.raises(NotFoundError, match=r"no model named 'chrun'. Did you mean 'churn'\?.*podium models list"):
        registry.resolve("chrun")
    with pytest.raises(NotFoundError, match=r"model 'churn' has no alias 'champoin'. Did you mean 'champion'\?"):
        registry.resolve("churn@champoin")
    with pytest.raises(NotFoundError, match=r"model 'churn' has no version 3 \(its versions: 1\)"):
        registry.load("churn:3")
    with pytest.raises(SpecError, match="not a model reference"):
        registry.resolve("churn:latest")
    with pytest.raises(NotFoundError, match="no model named 'x'"):
        registry.list_versions("x")


def test_names_are_checked(registry: Registry, classifier_package: ModelPackage) -> None:
    with pytest.raises(SpecError, match="not a valid model name"):
        registry.register("bad name:1", classifier_package)
    with pytest.raises(SpecError, match="not a valid alias"):
        registry.register("churn", classifier_package, alias="a@b")


def test_load_detects_a_modified_artifact(registry: Registry, classifier_package: ModelPackage,
                                          tmp_path: Path) -> None:
    registry.register("churn", classifier_package)
    manifest = tmp_path / "artifacts" / "models" / "churn" / "1" / "package.json"
    manifest.write_text(manifest.read_text().replace('"accuracy"', '"f1"', 1))
    with pytest.raises(IntegrityError, match="failed its checksum on package.json"):
        registry.load("churn")
    shutil.rmtree(manifest.parent)
    with pytest.raises(IntegrityError, match="model churn:1 is registered but its files"):
        registry.load("churn")


def test_a_failed_publish_leaves_no_version_no_alias_no_artifact(
        registry: Registry, classifier_package: ModelPackage, monkeypatch) -> None:
    assert registry.register("churn", classifier_package) == 1

    def crash(self, *args, **kwargs):
        raise RuntimeError("database went away")

    # the alias move runs inside the transaction that publishes the version: it all rolls back
    monkeypatch.setattr(_Registry, "_move_alias", crash)
    with pytest.raises(RuntimeError, match="database went away"):
        registry.register("churn", classifier_package)
    assert _version_rows(registry) == [("churn", 1, "ready")]
    assert registry.resolve("churn@champion").version == 1
    assert not registry.artifacts.exists("models/churn/2")
    assert [v.version for v in registry.list_versions("churn")] == [1]

    monkeypatch.undo()
    assert registry.register("churn", classifier_package) == 2


def test_a_failed_artifact_write_leaves_no_version(registry: Registry, classifier_package: ModelPackage,
                                                   monkeypatch) -> None:
    def crash(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(registry.artifacts, "put_dir", crash)
    with pytest.raises(OSError, match="disk full"):
        registry.register("churn", classifier_package)
    assert _version_rows(registry) == []
    with pytest.raises(NotFoundError, match="model 'churn' has no versions yet"):
        registry.resolve("churn")
    assert registry.list_models() == []


def test_a_crash_after_reserving_leaves_an_invisible_pending_row(
        registry: Registry, classifier_package: ModelPackage, monkeypatch) -> None:
    registry.register("churn", classifier_package)
    monkeypatch.setattr(_Registry, "_discard", lambda *a: None)  # the process died: nothing cleans up
    monkeypatch.setattr(_Registry, "_publish", lambda *a, **k: (_ for _ in ()).throw(SystemExit(9)))
    with pytest.raises(SystemExit):
        registry.register("churn", classifier_package)
    monkeypatch.undo()
    assert ("churn", 2, "pending") in _version_rows(registry)
    assert [v.version for v in registry.list_versions("churn")] == [1]
    assert registry.resolve("churn").version == 1
    assert registry.register("churn", classifier_package) == 3


def test_an_error_after_the_commit_keeps_the_version(registry: Registry, classifier_package: ModelPackage,
                                                    monkeypatch) -> None:
    publish = _Registry._publish

    def publish_then_fail(self, *args, **kwargs):
        publish(self, *args, **kwargs)
        raise ConnectionError("connection lost while the commit was acknowledged")

    monkeypatch.setattr(_Registry, "_publish", publish_then_fail)
    assert registry.register("churn", classifier_package) == 1
    assert registry.artifacts.exists("models/churn/1") and registry.load("churn").checksum


def test_a_stale_version_number_is_retried(registry: Registry, classifier_package: ModelPackage,
                                           monkeypatch) -> None:
    registry.register("churn", classifier_package)
    stale = iter([1])  # as if another writer took 1 between our read and our insert
    original = _Registry._next_version
    monkeypatch.setattr(_Registry, "_next_version",
                        lambda self, conn, name: next(stale, None) or original(self, conn, name))
    assert registry.register("churn", classifier_package) == 2


def test_an_existing_artifact_is_never_overwritten(registry: Registry, classifier_package: ModelPackage,
                                                   tmp_path: Path) -> None:
    stray = tmp_path / "artifacts" / "models" / "churn" / "1"
    stray.mkdir(parents=True)
    (stray / "model.joblib").write_bytes(b"someone else's")
    assert registry.register("churn", classifier_package) == 2
    assert (stray / "model.joblib").read_bytes() == b"someone else's"
    assert registry.resolve("churn").version == 2


def test_concurrent_registers_get_distinct_versions(tmp_path: Path, classifier_package: ModelPackage) -> None:
    url, artifacts = f"sqlite:///{tmp_path / 'registry.db'}", str(tmp_path / "artifacts")
    Registry(url, artifacts).list_models()  # create the tables once
    barrier = threading.Barrier(4)
    versions: list[int] = []

    def work() -> None:
        with Registry(url, artifacts) as reg:
            barrier.wait()
            for _ in range(3):
                versions.append(reg.register("churn", classifier_package))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(versions) == list(range(1, 13))
    with Registry(url, artifacts) as reg:
        assert [v.version for v in reg.list_versions("churn")] == list(range(1, 13))
        assert reg.load("churn:7").checksum


def test_from_settings_uses_the_project_folder(tmp_path: Path) -> None:
    registry = Registry.from_settings(Settings(project_dir=tmp_path))
    registry.list_models()
    assert (tmp_path / ".podium" / "registry.db").is_file()
    assert registry.artifacts.root == str((tmp_path / ".podium" / "artifacts").resolve())
    registry.close()


# -- events -----------------------------------------------------------------------------------
def test_events(registry: Registry) -> None:
    run_id = _start(registry)
    first = registry.record_event("gate", {"passed": False, "score": 0.7, "threshold": 0.8}, run_id=run_id)
    registry.record_event("promotion", {"from": 1, "to": 2}, model="churn", version=2)
    assert [e.kind for e in registry.list_events()] == ["promotion", "gate"]
    [gate] = registry.list_events(run_id=run_id)
    assert gate.id == first and gate.payload == {"passed": False, "score": 0.7, "threshold": 0.8}
    assert registry.list_events(model="churn")[0].version == 2


# -- API keys ---------------------------------------------------------------------------------
def test_api_keys(registry: Registry) -> None:
    key_id, plaintext = registry.create_key("frontend", models=["churn"])
    _, everything = registry.create_key("admin")
    assert registry.check_key(plaintext, "churn") == "ok"
    assert registry.check_key(plaintext, "sales") == "forbidden"
    assert registry.check_key(everything, "sales") == "ok"
    assert registry.check_key("pdm_not-a-key", "churn") == "unknown"
    [listed, _] = registry.list_keys()
    assert (listed.id, listed.name, listed.models, listed.active) == (key_id, "frontend", ["churn"], True)
    assert plaintext.startswith(listed.prefix) and plaintext not in json.dumps(
        [dataclasses.asdict(k) for k in registry.list_keys()], default=str)
    with registry.engine.connect() as conn:
        stored = conn.execute(select(t.api_keys.c.hashed_key)).scalars().all()
    assert plaintext not in stored and all(len(h) == 64 for h in stored)

    with pytest.raises(SpecError, match="an API key named 'frontend' already exists"):
        registry.create_key("frontend")
    revoked = registry.revoke_key("frontend")
    assert revoked.revoked_at is not None and not revoked.active
    assert registry.check_key(plaintext, "churn") == "revoked"
    assert registry.revoke_key(key_id).id == key_id  # revoking twice is harmless
    with pytest.raises(NotFoundError, match="no API key named 'frontnd'. Did you mean 'frontend'"):
        registry.revoke_key("frontnd")
    _, again = registry.create_key("frontend")  # the name is free once revoked
    assert registry.check_key(again, "churn") == "ok"


def test_api_key_rights(registry: Registry) -> None:
    _, scoped = registry.create_key("scoped", models=["churn"])
    _, loader = registry.create_key("loader", models=[], uploads=["sales", "returns", "sales"], admin=True)
    found = registry.find_key(scoped)
    assert found is not None and (found.models, found.uploads, found.admin) == (["churn"], [], False)
    assert not found.allows("upload", "sales") and not found.allows("admin")
    found = registry.find_key(loader)
    assert found is not None and (found.models, found.uploads, found.admin) == ([], ["returns", "sales"], True)
    assert registry.check_key(loader, "churn") == "forbidden"
    assert registry.find_key("pdm_nope") is None
    changed = registry.set_key_rights("scoped", uploads=["*"], admin=True)
    assert (changed.models, changed.uploads, changed.admin) == (["churn"], ["*"], True)
    assert registry.find_key(scoped).allows("upload", "anything")
    with pytest.raises(SpecError, match="no right at all"):
        registry.create_key("nothing", models=[])
    with pytest.raises(SpecError, match="not a valid dataset"):
        registry.create_key("bad", uploads=["no spaces"])
    registry.revoke_key("scoped")
    with pytest.raises(SpecError, match="is revoked"):
        registry.set_key_rights("scoped", admin=False)


def test_tables_are_created_once_and_shared(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    with Registry(url, str(tmp_path / "a")) as one, Registry(url, str(tmp_path / "a")) as two:
        run_id = _start(one)
        assert two.get_run(run_id).name == "churn"
        with two.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.execute(select(func.count()).select_from(t.runs)).scalar() == 1
