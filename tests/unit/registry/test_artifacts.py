from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from podium.errors import NotFoundError
from podium.registry import MANIFEST, ArtifactExists, ArtifactStore


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    (source / "sub").mkdir(parents=True)
    (source / "model.joblib").write_bytes(b"weights")
    (source / "sub" / "notes.txt").write_text("hello")
    (source / MANIFEST).write_text("{}")
    return source


@pytest.fixture(params=["local", "memory"])
def store(request, tmp_path: Path):
    if request.param == "local":
        yield ArtifactStore(tmp_path / "artifacts")
        return
    root = f"memory://podium-tests-{uuid.uuid4().hex}"
    store = ArtifactStore(root, cache_dir=tmp_path / "cache")
    yield store
    store.fs.rm(store.root, recursive=True)


def test_put_get_exists_delete(store: ArtifactStore, folder: Path) -> None:
    assert not store.exists("models/churn/1")
    store.put_dir(folder, "models/churn/1")
    assert store.exists("models/churn/1")
    local = store.get_local("models/churn/1")
    assert (local / "model.joblib").read_bytes() == b"weights"
    assert (local / "sub" / "notes.txt").read_text() == "hello"
    assert store.keys("models") == ["models/churn/1"]
    assert store.delete("models/churn/1") is True
    assert not store.exists("models/churn/1")
    assert store.delete("models/churn/1") is False
    with pytest.raises(NotFoundError, match="no artifact 'models/churn/1'"):
        store.get_local("models/churn/1")


def test_a_key_is_written_once(store: ArtifactStore, folder: Path) -> None:
    store.put_dir(folder, "models/churn/1")
    (folder / "model.joblib").write_bytes(b"other weights")
    with pytest.raises(ArtifactExists, match="already exists"):
        store.put_dir(folder, "models/churn/1")
    assert (store.get_local("models/churn/1") / "model.joblib").read_bytes() == b"weights"


def test_local_put_leaves_no_staging_folder(tmp_path: Path, folder: Path, monkeypatch) -> None:
    store = ArtifactStore(tmp_path / "artifacts")

    def crash(*_args):
        raise OSError("disk full")

    monkeypatch.setattr("podium.registry.artifacts.os.rename", crash)
    with pytest.raises(OSError, match="disk full"):
        store.put_dir(folder, "models/churn/1")
    assert list((tmp_path / "artifacts" / "models" / "churn").iterdir()) == []
    assert not store.exists("models/churn/1")


def test_remote_upload_writes_the_manifest_last(tmp_path: Path, folder: Path) -> None:
    store = ArtifactStore(f"memory://podium-tests-{uuid.uuid4().hex}", cache_dir=tmp_path / "cache")
    order: list[str] = []
    put_file = store.fs.put_file

    def recording(local: str, remote: str, **kwargs):
        order.append(remote.rsplit("/", 1)[-1])
        return put_file(local, remote, **kwargs)

    store.fs.put_file = recording  # type: ignore[method-assign]
    try:
        store.put_dir(folder, "models/churn/1")
        assert order[-1] == MANIFEST and sorted(order) == sorted([MANIFEST, "model.joblib", "notes.txt"])
    finally:
        del store.fs.put_file
        store.fs.rm(store.root, recursive=True)


def test_bad_keys_are_refused(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    for key in ("", "../escape", "models/.hidden", "a/../../b"):
        with pytest.raises(ValueError, match="not an artifact key"):
            store.path(key)
