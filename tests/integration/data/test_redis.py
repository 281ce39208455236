"""The Redis source against a real redis-server: hashes, JSON strings, write then read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from podium.data import RedisSource, resolve_source
from podium.errors import DataError, SourceError
from podium.testing.servers import free_port

pytestmark = pytest.mark.integration

FRAME = pd.DataFrame(
    {
        "key": [1, 2, 10],
        "name": ["Ada", "Bob", "Cy"],
        "age": [36, 41, 29],
        "spend": [10.5, None, 99.25],
        "vip": [True, False, True],
        "zip": ["01234", "75001", "10115"],
    }
)


@pytest.fixture
def client(redis_url: str) -> Iterator[Any]:
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def test_write_then_read_hashes(redis_url: str, client: Any) -> None:
    source = resolve_source(f"{redis_url}?pattern=customer:*")
    source.write(FRAME)
    assert client.hgetall("customer:10") == {
        "name": "Cy", "age": "29", "spend": "99.25", "vip": "true", "zip": "10115",
    }
    assert "spend" not in client.hgetall("customer:2")  # missing stays missing
    read = source.read()
    assert read["key"].tolist() == [1, 2, 10]  # natural order, numbers again
    assert read["age"].tolist() == [36, 41, 29]
    assert read["spend"].tolist()[0] == 10.5 and pd.isna(read["spend"][1])
    assert read["vip"].tolist() == [True, False, True]
    assert read["zip"].tolist() == [1234, 75001, 10115]  # every value parses: numbers
    assert read["name"].tolist() == ["Ada", "Bob", "Cy"]
    assert list(read.columns)[0] == "key"


def test_reads_hashes_written_by_others(redis_url: str, client: Any) -> None:
    client.hset("user:a", mapping={"plan": "pro", "seats": "3"})
    client.hset("user:b", mapping={"plan": "free", "seats": "n/a"})
    client.hset("other:c", mapping={"plan": "x"})
    read = resolve_source({"url": redis_url, "pattern": "user:*", "key_column": "user"}).read()
    assert read.to_dict("records") == [
        {"user": "a", "plan": "pro", "seats": "3"},  # "n/a" keeps the column text
        {"user": "b", "plan": "free", "seats": "n/a"},
    ]


def test_json_values(redis_url: str, client: Any) -> None:
    source = resolve_source(f"{redis_url}?pattern=doc:*&type=json")
    source.write(FRAME)
    stored = json.loads(client.get("doc:1"))
    assert stored == {"name": "Ada", "age": 36, "spend": 10.5, "vip": True, "zip": "01234"}
    read = source.read()
    assert read["age"].tolist() == [36, 41, 29]
    assert read["zip"].tolist() == ["01234", "75001", "10115"]  # JSON keeps strings strings
    # without type: each key's type is detected
    assert len(resolve_source(f"{redis_url}?pattern=doc:*").read()) == 3


def test_mixed_hashes_and_json_are_detected(redis_url: str, client: Any) -> None:
    client.hset("m:1", mapping={"a": "1"})
    client.set("m:2", json.dumps({"a": 2}))
    assert resolve_source(f"{redis_url}?pattern=m:*").read()["a"].tolist() == [1, 2]


def test_replace_deletes_old_keys_append_keeps_them(redis_url: str, client: Any) -> None:
    source = RedisSource(redis_url, pattern="c:*")
    source.write(FRAME)
    source.write(FRAME.head(1).assign(key=99), mode="append")
    assert sorted(client.keys("c:*")) == ["c:1", "c:10", "c:2", "c:99"]
    source.write(FRAME.head(1))
    assert client.keys("c:*") == ["c:1"]


def test_index_is_the_key_without_a_key_column(redis_url: str, client: Any) -> None:
    RedisSource(redis_url, pattern="row:*").write(FRAME.drop(columns="key"))
    assert sorted(client.keys("row:*")) == ["row:0", "row:1", "row:2"]


def test_no_keys_match(redis_url: str, client: Any) -> None:
    with pytest.raises(
        DataError,
        match=r"^No keys match 'nobody:\*' in redis://127\.0\.0\.1:\d+/0\. "
        r"Hint: check the pattern",
    ):
        resolve_source(f"{redis_url}?pattern=nobody:*").read()


def test_other_key_types_are_refused(redis_url: str, client: Any) -> None:
    client.rpush("l:1", "a")
    with pytest.raises(SourceError, match=r"^Key 'l:1' in redis://.* is a list; podium reads hashes"):
        resolve_source(f"{redis_url}?pattern=l:*").read()


def test_strings_that_are_not_json_objects(redis_url: str, client: Any) -> None:
    client.set("s:1", "plain")
    with pytest.raises(SourceError, match=r"^Key 's:1' in .* holds a string that is not JSON\."):
        resolve_source(f"{redis_url}?pattern=s:*").read()
    client.set("s:1", "[1, 2]")
    with pytest.raises(SourceError, match=r"holds JSON that is not an object\."):
        resolve_source(f"{redis_url}?pattern=s:*").read()


def test_write_needs_a_prefix_pattern(redis_url: str) -> None:
    with pytest.raises(SourceError, match=r"^Cannot write with pattern 'user:\*:profile'"):
        RedisSource(redis_url, pattern="user:*:profile").write(FRAME)


@pytest.mark.parametrize("mode", ["replace", "append"])
def test_write_touches_no_key_outside_an_explicit_prefix(redis_url: str, client: Any, mode: str) -> None:
    client.set("billing:invoice:7", "keep me")
    client.hset("0", mapping={"owner": "another app"})
    for url in (redis_url, f"{redis_url}?pattern=*"):
        with pytest.raises(SourceError, match=r"^Cannot write to redis://.*: writing needs a key prefix"):
            resolve_source(url).write(FRAME, mode=mode)
    resolve_source(f"{redis_url}?pattern=scored:*").write(FRAME, mode=mode)
    assert client.get("billing:invoice:7") == "keep me"
    assert client.hgetall("0") == {"owner": "another app"}
    assert sorted(client.keys("scored:*")) == ["scored:1", "scored:10", "scored:2"]


def test_bad_type_option(redis_url: str) -> None:
    with pytest.raises(
        SourceError,
        match=r"^'hsh' is not a Redis value type podium "
        r"reads\. Did you mean 'hash'\?",
    ):
        resolve_source(f"{redis_url}?pattern=x:*&type=hsh")


def test_connection_refused() -> None:
    port = free_port()
    with pytest.raises(
        SourceError,
        match=rf"^Cannot connect to redis://127\.0\.0\.1:{port}/0: Connection "
        rf"refused\. Hint: check that redis-server runs",
    ) as caught:
        resolve_source(f"redis://127.0.0.1:{port}/0?pattern=customer:*").read()
    assert "\n" not in str(caught.value)


def test_password_never_shown() -> None:
    port = free_port()
    source = resolve_source(f"redis://:hunter2@127.0.0.1:{port}/0?pattern=c:*")
    assert source.describe() == f"redis://:***@127.0.0.1:{port}/0?pattern=c:*"
    with pytest.raises(SourceError) as caught:
        source.write(FRAME)
    assert "hunter2" not in str(caught.value)


def test_fingerprint_follows_the_keys(redis_url: str, client: Any) -> None:
    source = RedisSource(redis_url, pattern="fp:*")
    source.write(FRAME)
    first = source.fingerprint()
    assert source.fingerprint() == first
    client.hset("fp:1", "age", "37")  # in place: the keys' names, all the default looks at, stay
    assert source.fingerprint() == first
    client.hset("fp:11", "age", "37")
    assert source.fingerprint() != first
    full = RedisSource(redis_url, pattern="fp:*", fingerprint="full")
    whole = full.fingerprint()
    client.hset("fp:1", "age", "38")
    assert full.fingerprint() != whole
