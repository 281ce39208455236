"""Cheap change fingerprints of SQL, MongoDB and Redis sources, on real servers: a watcher
polling a source that did not change reads none of it, and one that changed is read once."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from podium.automation.watch import Watcher
from podium.config import load_settings
from podium.data import MongoSource, RedisSource, SqlSource, resolve_source
from podium.data.source import Source

pytestmark = pytest.mark.integration

SPEC = {"name": "churn", "source": "unused.csv", "target": "y", "budget": {"trials": 1},
        "candidates": ["logistic_regression"], "notify": [], "promotion": {"smoke_test": False}}


def _rows(start: int, n: int) -> pd.DataFrame:
    return pd.DataFrame({"id": range(start, start + n), "x": [float(i % 7) for i in range(start, start + n)],
                         "y": ["a" if i % 2 else "b" for i in range(start, start + n)]})


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many times each source kind read its whole table (the real read, counted)."""
    counts: dict[str, int] = {}
    for cls in (SqlSource, MongoSource, RedisSource):
        original = cls.read

        def counted(self: Source, _original: Callable[[Source], pd.DataFrame] = original) -> pd.DataFrame:
            counts[self.kind] = counts.get(self.kind, 0) + 1
            return _original(self)

        monkeypatch.setattr(cls, "read", counted)
    return counts


def _watch(tmp_path: Any, source: str | dict[str, Any]) -> Watcher:
    (tmp_path / "podium.yaml").write_text("executor: inline\nnotify: []\n")
    watcher = Watcher(load_settings(tmp_path), quiet_seconds=0)
    watcher.datasets.add("sales", source)
    watcher.pipelines.bind("churn", SPEC, dataset="sales")
    return watcher


def _check_watcher_reads_only_on_change(watcher: Watcher, reads: dict[str, int], kind: str,
                                        add_rows: Callable[[], None]) -> None:
    assert watcher.step(run=False).versions == ["sales:1"] and reads[kind] == 1
    for _ in range(3):  # nothing changed: the fingerprint says so, nothing is read
        assert watcher.step(run=False).versions == []
    assert reads[kind] == 1
    add_rows()
    assert watcher.step(run=False).versions == ["sales:2"] and reads[kind] == 2
    assert watcher.step(run=False).versions == [] and reads[kind] == 2
    assert watcher.datasets.versions("sales")[-1].rows == 130


# PostgreSQL ------------------------------------------------------------------------------


@pytest.fixture
def pg_table(postgres_url: str) -> Iterator[tuple[str, Any]]:
    engine = create_engine(postgres_url)
    name = f"sales_{uuid.uuid4().hex[:8]}"
    yield name, engine
    with engine.begin() as conn:
        conn.execute(text(f'DROP TABLE IF EXISTS "{name}"'))
    engine.dispose()


def test_a_watcher_reads_a_postgresql_table_only_when_it_changed(tmp_path, postgres_url, pg_table, reads):
    table, engine = pg_table
    url = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    _rows(0, 100).to_sql(table, engine, index=False)
    watcher = _watch(tmp_path, f"{url}?table={table}")
    assert resolve_source(f"{url}?table={table}").fingerprint_plan() == "count"
    _check_watcher_reads_only_on_change(watcher, reads, "sql",
                                        lambda: _rows(100, 30).to_sql(table, engine, index=False, if_exists="append"))


def test_the_sql_fingerprint_sees_updates_through_an_updated_at_column(postgres_url, pg_table):
    table, engine = pg_table
    url = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    frame = _rows(0, 50).assign(Updated_At=pd.Timestamp("2026-01-01"))
    frame.to_sql(table, engine, index=False)
    source = resolve_source(f"{url}?table={table}")
    before = source.fingerprint()
    assert source.fingerprint() == before
    with engine.begin() as conn:  # an in-place change: the count stays, the max moves
        conn.execute(text(f'UPDATE "{table}" SET x = 99, "Updated_At" = \'2026-02-01\' WHERE id = 3'))
    assert source.fingerprint() != before
    # no such column: count(*) alone sees rows added and removed, not changed in place …
    plain = f"{table}_plain"
    _rows(0, 50).to_sql(plain, engine, index=False)
    try:
        counted = resolve_source(f"{url}?table={plain}")
        first, full = counted.fingerprint(), resolve_source(f"{url}?table={plain}&fingerprint=full").fingerprint()
        with engine.begin() as conn:
            conn.execute(text(f'UPDATE "{plain}" SET x = 99 WHERE id = 3'))
        assert counted.fingerprint() == first
        # … which a fingerprint query, or a full read, does
        changed = resolve_source({"url": url, "table": plain,
                                  "fingerprint": f'SELECT sum(x), count(*) FROM "{plain}"'})
        assert changed.fingerprint_plan() == "query"
        summed = changed.fingerprint()
        with engine.begin() as conn:
            conn.execute(text(f'UPDATE "{plain}" SET x = 98 WHERE id = 3'))
        assert changed.fingerprint() != summed and counted.fingerprint() == first
        assert resolve_source(f"{url}?table={plain}&fingerprint=full").fingerprint() != full
        with engine.begin() as conn:
            conn.execute(text(f'DELETE FROM "{plain}" WHERE id = 4'))
        assert counted.fingerprint() != first
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP TABLE IF EXISTS "{plain}"'))


def test_a_bad_fingerprint_query_is_one_clear_error(postgres_url, pg_table):
    from podium.errors import SourceError

    table, engine = pg_table
    url = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    _rows(0, 5).to_sql(table, engine, index=False)
    assert resolve_source({"url": url, "query": f"SELECT * FROM \"{table}\""}).fingerprint_plan() == "full"
    source = resolve_source({"url": url, "table": table, "fingerprint": "SELECT max(nope) FROM nowhere"})
    with pytest.raises(SourceError, match=r"^Cannot fingerprint .*nowhere"):
        source.fingerprint()


# Redis -----------------------------------------------------------------------------------


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[Any]:
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def test_a_watcher_reads_redis_keys_only_when_they_changed(tmp_path, redis_url, redis_client, reads):
    source = f"{redis_url}?pattern=sale:*"
    resolve_source(source).write(_rows(0, 100).rename(columns={"id": "key"}))
    watcher = _watch(tmp_path, source)
    _check_watcher_reads_only_on_change(
        watcher, reads, "redis",
        lambda: resolve_source(source).write(_rows(100, 30).rename(columns={"id": "key"}), mode="append"))


def test_a_redis_marker_key_shows_values_changed_in_place(redis_url, redis_client):
    resolve_source(f"{redis_url}?pattern=sale:*").write(_rows(0, 10).rename(columns={"id": "key"}))
    names_only = resolve_source(f"{redis_url}?pattern=sale:*")
    marked = resolve_source(f"{redis_url}?pattern=sale:*&fingerprint=sales:version")
    full = resolve_source(f"{redis_url}?pattern=sale:*&fingerprint=full")
    before, marked_before, full_before = names_only.fingerprint(), marked.fingerprint(), full.fingerprint()
    redis_client.hset("sale:3", "x", "99")
    assert names_only.fingerprint() == before  # names alone: an in-place change is not seen …
    redis_client.incr("sales:version")  # … the writer's marker is
    assert marked.fingerprint() != marked_before
    assert full.fingerprint() != full_before  # and a full read sees it without a marker


# MongoDB ---------------------------------------------------------------------------------


@pytest.fixture
def mongo_client(mongo_url: str) -> Iterator[Any]:
    pymongo = pytest.importorskip("pymongo")
    client = pymongo.MongoClient(mongo_url, serverSelectionTimeoutMS=3000)
    client.drop_database("shop")
    yield client
    client.drop_database("shop")
    client.close()


def test_a_watcher_reads_a_mongodb_collection_only_when_it_changed(tmp_path, mongo_url, mongo_client, reads):
    source = f"{mongo_url}/shop/sales"
    resolve_source(source).write(_rows(0, 100))
    watcher = _watch(tmp_path, source)
    _check_watcher_reads_only_on_change(watcher, reads, "mongodb",
                                        lambda: resolve_source(source).write(_rows(100, 30), mode="append"))


def test_a_mongodb_field_shows_documents_changed_in_place(mongo_url, mongo_client):
    resolve_source(f"{mongo_url}/shop/sales").write(_rows(0, 10).assign(updated=1))
    by_id = resolve_source(f"{mongo_url}/shop/sales")
    by_field = resolve_source({"url": mongo_url, "database": "shop", "collection": "sales",
                               "fingerprint": "updated"})
    before, field_before = by_id.fingerprint(), by_field.fingerprint()
    assert by_id.fingerprint() == before
    mongo_client["shop"]["sales"].update_one({"id": 3}, {"$set": {"x": 99.0, "updated": 2}})
    assert by_id.fingerprint() == before  # the largest _id did not move …
    assert by_field.fingerprint() != field_before  # … the largest "updated" did
    filtered = resolve_source({"url": mongo_url, "database": "shop", "collection": "sales",
                               "filter": {"y": "a"}})
    counted = filtered.fingerprint()
    mongo_client["shop"]["sales"].delete_one({"id": 1})  # y == "a": the filtered count drops
    assert filtered.fingerprint() != counted
