from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select, update

from podium.errors import IntegrityError, NotFoundError, SourceError, SpecError, UserError
from podium.registry import Registry
from podium.registry.datasets import DATA_FILE, DatasetStore, dataset_versions_table


def sales(n: int = 300, seed: int = 0, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "amount": rng.normal(100 + shift, 10, n),
        "region": rng.choice(["north", "south", "east"], n),
        "churn": rng.choice(["yes", "no"], n),
    })


@pytest.fixture
def registry(tmp_path: Path):
    with Registry(f"sqlite:///{tmp_path / 'state' / 'registry.db'}", str(tmp_path / "artifacts")) as reg:
        yield reg


@pytest.fixture
def store(registry: Registry) -> DatasetStore:
    return DatasetStore(registry)


@pytest.fixture
def csv(tmp_path: Path) -> Path:
    path = tmp_path / "sales.csv"
    sales().to_csv(path, index=False)
    return path


def _rows(registry: Registry) -> list[tuple[str, int, str]]:
    t = dataset_versions_table
    with registry.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(t.c.name, t.c.version, t.c.state))]


def test_add_snapshot_versions_and_unchanged(store: DatasetStore, csv: Path) -> None:
    info = store.add("sales", str(csv), options={"target": "churn"})
    assert (info.name, info.versions, info.latest_version, info.options) == ("sales", 0, None, {"target": "churn"})
    first = store.snapshot("sales")
    assert first is not None and (first.ref, first.rows) == ("sales:1", 300)
    assert first.drift is None and not first.drifted and first.creator == "cli"
    assert first.columns == ["amount", "region", "churn"]
    assert first.profile["target"]["kind"] == "classes" and first.profile["columns"]["amount"]["type"] == "numeric"
    assert first.artifact_key == "datasets/sales/1" and len(first.fingerprint) == 64
    assert store.snapshot("sales") is None  # same content: nothing new
    sales(seed=1, shift=15).to_csv(csv, index=False)
    second = store.snapshot("sales", creator="watcher")
    assert second is not None and second.version == 2 and second.creator == "watcher"
    assert second.drifted and "amount" in second.drifted_columns
    assert second.drift["reference"] == "sales:1"
    assert second.drift_report().columns["amount"].drifted
    assert [v.version for v in store.versions("sales")] == [1, 2]
    assert store.get("sales").version == store.get("sales@latest").version == 2
    assert store.get("sales:1").fingerprint == first.fingerprint
    assert store.previous("sales:2").version == 1 and store.previous("sales:1") is None
    [listed] = store.list_datasets()
    assert (listed.name, listed.versions, listed.latest_version) == ("sales", 2, 2)
    assert listed.latest_at is not None and listed.latest_at.tzinfo is not None


def test_load_round_trip(store: DatasetStore, registry: Registry) -> None:
    frame = sales().assign(when=pd.date_range("2024-01-01", periods=300, freq="h"), flag=True)
    frame.loc[3, "amount"] = np.nan
    version = store.upload("orders", frame, creator="api")
    assert version is not None and version.origin == "uploaded frame"
    loaded = store.load("orders:1")
    pd.testing.assert_frame_equal(loaded, frame, check_dtype=False)
    assert (registry.artifacts.get_local(version.artifact_key) / DATA_FILE).is_file()


def test_upload_a_file_creates_the_dataset_bound_to_it(store: DatasetStore, csv: Path) -> None:
    version = store.upload("fresh", csv)
    assert version is not None and version.ref == "fresh:1"
    assert store.info("fresh").source == str(csv)
    assert store.upload("fresh", csv) is None
    assert store.snapshot("fresh") is None  # the bound file, read again: same content


def test_frame_only_dataset_cannot_snapshot(store: DatasetStore) -> None:
    store.upload("manual", sales())
    with pytest.raises(UserError, match="dataset 'manual' has no source"):
        store.snapshot("manual")


def test_rebinding_needs_replace(store: DatasetStore, csv: Path, tmp_path: Path) -> None:
    store.add("sales", str(csv))
    store.add("sales", str(csv))  # the same binding again: fine
    other = tmp_path / "other.csv"
    sales(seed=3).to_csv(other, index=False)
    with pytest.raises(UserError, match="already bound to"):
        store.add("sales", str(other))
    assert store.add("sales", str(other), replace=True).source == str(other)


def test_secrets_are_shown_redacted_but_kept(store: DatasetStore, registry: Registry) -> None:
    url = "postgresql://bob:hunter2@127.0.0.1:5433/crm?table=sales"
    info = store.add("crm", url)
    assert "hunter2" not in info.source and "***" in info.source
    assert store.source("crm").describe() == info.source
    from podium.registry.datasets import datasets_table

    with registry.engine.connect() as conn:
        assert conn.execute(select(datasets_table.c.source)).scalar() == url


def test_unknown_names_and_refs(store: DatasetStore, csv: Path) -> None:
    with pytest.raises(SourceError):
        store.add("bad", "data/what.unknown")
    store.add("sales", str(csv))
    with pytest.raises(NotFoundError, match="no dataset named 'sale'. Did you mean 'sales'"):
        store.versions("sale")
    with pytest.raises(NotFoundError, match="has no versions yet"):
        store.get("sales")
    store.snapshot("sales")
    with pytest.raises(NotFoundError, match=r"no version 7 \(its versions: 1\)"):
        store.load("sales:7")
    with pytest.raises(SpecError, match="datasets have no aliases"):
        store.get("sales@champion")
    with pytest.raises(SpecError, match="not a valid dataset name"):
        store.add("../x", str(csv))


def test_diff(store: DatasetStore) -> None:
    base = sales(50)
    store.upload("d", base)
    changed = pd.concat([base.iloc[5:], sales(7, seed=9)], ignore_index=True).assign(extra=1)
    store.upload("d", changed.drop(columns=["churn"]))
    result = store.diff("d:1", "d:2")
    assert (result["rows_added"], result["rows_removed"], result["rows_unchanged"]) == (7, 5, 45)
    assert result["added_columns"] == ["extra"] and result["removed_columns"] == ["churn"]
    assert result["compared_on"] == ["amount", "region"]
    assert len(result["added_examples"]) == 5 and len(result["removed_examples"]) == 5
    assert result["removed_examples"][0]["amount"] == pytest.approx(base["amount"].iloc[0])


def test_a_failed_publish_leaves_no_version_and_no_files(store: DatasetStore, registry: Registry,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    store.upload("d", sales())

    def fail(*_args, **_kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(store, "_publish", fail)
    with pytest.raises(RuntimeError, match="went away"):
        store.upload("d", sales(seed=5))
    assert _rows(registry) == [("d", 1, "ready")]
    assert not registry.artifacts.exists("datasets/d/2")
    assert [v.version for v in store.versions("d")] == [1]
    monkeypatch.undo()
    assert store.upload("d", sales(seed=5)).version == 2


def test_a_crash_before_publish_is_invisible(store: DatasetStore, registry: Registry,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    store.upload("d", sales())
    # a process killed after storing the files: its pending row and folder stay behind
    monkeypatch.setattr(store, "_publish", lambda *a, **k: (_ for _ in ()).throw(SystemExit()))
    monkeypatch.setattr(store, "_discard", lambda *a, **k: None)
    with pytest.raises(SystemExit):
        store.upload("d", sales(seed=5))
    monkeypatch.undo()
    assert ("d", 2, "pending") in _rows(registry)
    assert store.get("d").version == 1 and len(store.versions("d")) == 1
    # while the pending row is young, its writer may still be storing that content: no duplicate
    assert store.upload("d", sales(seed=5)) is None
    t = dataset_versions_table
    with registry.engine.begin() as conn:  # minutes later, it is known to be a crash's leftover
        conn.execute(update(t).where(t.c.state == "pending").values(
            created_at=datetime.now(timezone.utc) - timedelta(hours=1)))
    assert store.upload("d", sales(seed=5)).version == 3


def test_two_writers_storing_the_same_content_make_one_version(store: DatasetStore, registry: Registry,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    store.upload("d", sales())
    real_reserve = store._reserve
    other = []

    def reserve_then_race(name, record):  # a second watcher snapshots the same file meanwhile
        version = real_reserve(name, record)
        if not other:
            other.append(DatasetStore(registry).snapshot("d", frame=sales(seed=5)))
        return version

    monkeypatch.setattr(store, "_reserve", reserve_then_race)
    assert store.upload("d", sales(seed=5)).version == 2
    assert other == [None] and [v.version for v in store.versions("d")] == [1, 2]


def test_tampered_data_is_refused(store: DatasetStore, registry: Registry) -> None:
    version = store.upload("d", sales())
    path = registry.artifacts.get_local(version.artifact_key) / DATA_FILE
    sales(seed=8).to_parquet(path, index=False)
    with pytest.raises(IntegrityError, match="does not match its checksum"):
        store.load("d")


def test_thresholds_come_from_the_caller(registry: Registry) -> None:
    lenient = DatasetStore(registry, psi_threshold=100.0)
    lenient.upload("d", sales())
    assert not lenient.upload("d", sales(seed=1, shift=15)).drifted


def test_drift_of_any_frame_against_a_version(store: DatasetStore) -> None:
    store.upload("d", sales())
    logged = sales(seed=2, shift=15)[["amount", "region"]]
    report = store.drift("d", logged, columns=["amount", "region"])
    assert report.reference == "d:1" and report.drifted_columns == ["amount"]
    assert report.removed_columns == []


def test_a_lost_reference_does_not_block_new_versions(store: DatasetStore, registry: Registry) -> None:
    first = store.upload("d", sales())
    registry.artifacts.delete(first.artifact_key)
    with pytest.raises(IntegrityError, match="files 'datasets/d/1' are missing"):
        store.load("d:1")
    second = store.upload("d", sales(seed=1))
    assert second.version == 2 and second.drift is None
