"""The MongoDB source against a MongoDB-wire server (nx-27017; no mongod can be installed here)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from datetime import datetime
from urllib.parse import quote

import pandas as pd
import pytest

from podium.data import MongoSource, resolve_source
from podium.errors import DataError, SourceError
from podium.testing.servers import free_port

pytestmark = pytest.mark.integration

FRAME = pd.DataFrame(
    {
        "name": ["Ada", "Bob", "Cy"],
        "age": [36, 41, 29],
        "spend": [10.5, None, 99.25],
        "active": [True, False, True],
        "address.city": ["Lyon", "Oslo", "Oslo"],
        "address.zip": ["69001", "0150", "0151"],
        "joined": pd.to_datetime(["2024-01-02", "2023-05-06", "2022-07-08"]),
    }
)


@pytest.fixture
def client(mongo_url: str) -> Iterator[Any]:
    pymongo = pytest.importorskip("pymongo")
    client = pymongo.MongoClient(mongo_url, serverSelectionTimeoutMS=3000)
    client.drop_database("crm")
    yield client
    client.drop_database("crm")
    client.close()


def test_write_then_read(mongo_url: str, client: Any) -> None:
    source = resolve_source(f"{mongo_url}/crm/customers")
    source.write(FRAME)
    stored = client["crm"]["customers"].find_one({"name": "Bob"}, {"_id": 0})
    assert stored["address"] == {"city": "Oslo", "zip": "0150"}  # nested again
    assert "spend" not in stored  # a missing value is a missing field
    read = source.read()
    assert "_id" not in read.columns
    assert sorted(read.columns) == sorted(FRAME.columns)
    read = read[FRAME.columns].sort_values("age").reset_index(drop=True)
    expected = FRAME.sort_values("age").reset_index(drop=True)
    pd.testing.assert_frame_equal(read, expected, check_dtype=False)


def test_replace_and_append(mongo_url: str, client: Any) -> None:
    source = MongoSource(mongo_url, database="crm", collection="customers")
    source.write(FRAME)
    source.write(FRAME.head(1), mode="append")
    assert client["crm"]["customers"].count_documents({}) == 4
    source.write(FRAME.head(2))
    assert client["crm"]["customers"].count_documents({}) == 2


def test_filter_in_the_url_and_as_a_mapping(mongo_url: str, client: Any) -> None:
    MongoSource(f"{mongo_url}/crm/customers").write(FRAME)
    flt = quote(json.dumps({"address.city": "Oslo"}))
    read = resolve_source(f"{mongo_url}/crm/customers?filter={flt}").read()
    assert sorted(read["name"]) == ["Bob", "Cy"]
    read = resolve_source(
        {"url": f"{mongo_url}/crm/customers", "filter": {"age": {"$gt": 35}}}
    ).read()
    assert sorted(read["name"]) == ["Ada", "Bob"]


def test_projection_and_keep_id(mongo_url: str, client: Any) -> None:
    MongoSource(f"{mongo_url}/crm/customers").write(FRAME)
    read = resolve_source(f"{mongo_url}/crm/customers?projection=name,age").read()
    assert sorted(read.columns) == ["age", "name"]
    read = resolve_source(
        {"url": f"{mongo_url}/crm/customers", "projection": ["name"], "keep_id": True}
    ).read()
    assert sorted(read.columns) == ["_id", "name"]
    assert all(isinstance(v, str) and len(v) == 24 for v in read["_id"])


def test_reads_documents_written_by_others(mongo_url: str, client: Any) -> None:
    client["crm"]["events"].insert_many([
        {"kind": "click", "meta": {"page": "/a", "ms": 12}, "at": datetime(2024, 1, 1)},
        {"kind": "view", "meta": {"page": "/b"}},
    ])
    read = resolve_source(f"{mongo_url}/crm/events").read().sort_values("kind")
    assert read["meta.page"].tolist() == ["/a", "/b"]
    assert read["meta.ms"].tolist()[0] == 12 and pd.isna(read["meta.ms"].tolist()[1])


def test_no_documents_match(mongo_url: str, client: Any) -> None:
    MongoSource(f"{mongo_url}/crm/customers").write(FRAME)
    flt = quote(json.dumps({"age": {"$gt": 100}}))
    with pytest.raises(
        DataError,
        match=r"^No documents in mongodb://127\.0\.0\.1:\d+/crm/customers "
        r"filter .*\$gt.*\. Hint: check",
    ):
        resolve_source(f"{mongo_url}/crm/customers?filter={flt}").read()


def test_missing_collection_suggests(mongo_url: str, client: Any) -> None:
    MongoSource(f"{mongo_url}/crm/customers").write(FRAME)
    with pytest.raises(
        SourceError,
        match=r"^Collection 'custmers' does not exist in database 'crm' of "
        r"mongodb://127\.0\.0\.1:\d+\. Did you mean 'customers'\?",
    ):
        resolve_source(f"{mongo_url}/crm/custmers").read()


def test_bad_filter_json() -> None:
    with pytest.raises(
        SourceError,
        match=r"^The filter '\{age: 1\}' is not valid JSON: "
        r".*Hint: write it as a JSON object",
    ):
        resolve_source("mongodb://127.0.0.1:1/crm/c?filter={age: 1}")


def test_needs_database_and_collection() -> None:
    with pytest.raises(
        SourceError,
        match=r"^mongodb://h:27017 names no collection\. Hint: "
        r"use mongodb://host:27017/DATABASE/COLLECTION",
    ):
        resolve_source("mongodb://h:27017/crm")
    with pytest.raises(SourceError, match=r"names no database"):
        resolve_source("mongodb://h:27017")


def test_unreachable_server_fails_quickly() -> None:
    port = free_port()
    url = f"mongodb://u:hunter2@127.0.0.1:{port}/crm/customers?serverSelectionTimeoutMS=300"
    with pytest.raises(
        SourceError,
        match=rf"^Cannot connect to mongodb://u:\*\*\*@127\.0\.0\.1:{port}: Connection "
        rf"refused\. Hint: check that the MongoDB server runs",
    ) as caught:
        resolve_source(url).read()
    assert "hunter2" not in str(caught.value)


def test_default_timeout_is_three_seconds() -> None:
    source = MongoSource("mongodb://127.0.0.1:1/crm/c")
    client = source._client()
    try:
        assert client.options.server_selection_timeout == 3
    finally:
        client.close()
