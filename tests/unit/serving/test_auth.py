from __future__ import annotations

import os
from datetime import datetime, timezone

import pytest

from podium.errors import SpecError
from podium.registry.records import ApiKeyInfo
from podium.serving.auth import (
    KeyChecker,
    KeyFile,
    KeyLookup,
    KeyStoreUnavailable,
    LRUCache,
    hash_key,
    key_from_headers,
    parse_key_file,
)


@pytest.mark.parametrize(("headers", "key"), [
    ({"authorization": "Bearer abc"}, "abc"),
    ({"authorization": "bearer  abc "}, "abc"),
    ({"x-api-key": "xyz"}, "xyz"),
    ({"authorization": "Basic dXNlcg=="}, None),
    ({"authorization": "Bearer "}, None),
    ({}, None),
])
def test_the_key_comes_from_a_bearer_token_or_x_api_key(headers, key):
    assert key_from_headers(headers) == key


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def _key(name: str = "k", *, models=("*",), uploads=(), admin=False, revoked=False) -> ApiKeyInfo:
    now = datetime.now(timezone.utc)
    return ApiKeyInfo(id=name, name=name, prefix="", models=list(models), created_at=now,
                      revoked_at=now if revoked else None, uploads=list(uploads), admin=admin)


def test_answers_are_remembered_until_they_expire():
    answers = {"k": _key()}
    calls = []

    def lookup(key):
        calls.append(key)
        return answers.get(key)

    clock = Clock()
    checker = KeyChecker(lookup, ttl=2.0, clock=clock)
    assert checker.lookup("k").refusal("predict", "m") is None
    answers["k"] = _key(revoked=True)
    clock.now = 1.9
    assert checker.lookup("k").refusal("predict", "m") is None
    clock.now = 2.1
    assert checker.lookup("k").refusal("predict", "m") == (401, "The API key has been revoked.")
    assert checker.lookup("nope").refusal("predict", "m") == (401, "The API key is not valid.")
    assert calls == ["k", "k", "nope"]


def test_a_refusal_names_the_missing_right():
    scoped = KeyLookup(_key(models=["churn"]))
    assert scoped.refusal("predict", "churn") is None
    assert scoped.refusal("upload", "sales") == (
        403, "This key may not upload to dataset 'sales' (it has upload rights on: none).")
    assert scoped.refusal("predict", "fraud") == (
        403, "This key may not use model 'fraud' (it has predict rights on: churn).")
    status, message = scoped.refusal("admin")
    assert status == 403 and "may not administer" in message and "--admin" in message
    loader = KeyLookup(_key(models=[], uploads=["sales"], admin=True))
    assert loader.refusal("upload", "sales") is None and loader.refusal("admin") is None
    assert loader.refusal("upload", "other")[0] == 403
    assert KeyLookup(_key(uploads=["*"])).refusal("upload", "anything") is None


def test_during_an_outage_known_keys_are_honoured_for_the_grace_period_only():
    answers = {"k": _key(models=["churn"])}
    down: list[BaseException] = []
    healthy: list[bool] = []

    def lookup(key):
        if down:
            raise down[0]
        return answers.get(key)

    clock = Clock()
    checker = KeyChecker(lookup, ttl=2.0, grace=60.0, clock=clock, on_failure=lambda e: healthy.append(False),
                         on_success=lambda: healthy.append(True))
    assert checker.lookup("k").key is not None
    down.append(ConnectionError("database is down"))
    clock.now = 30.0
    stale = checker.lookup("k")
    assert stale.stale and stale.refusal("predict", "churn") is None
    assert stale.refusal("predict", "fraud")[0] == 403  # the rights known still apply
    with pytest.raises(KeyStoreUnavailable):  # a key never seen: nothing to honour
        checker.lookup("other")
    clock.now = 61.0
    with pytest.raises(KeyStoreUnavailable, match="database is down"):
        checker.lookup("k")
    assert healthy == [True, False, False, False]
    down.clear()
    assert checker.lookup("k").stale is False


def test_the_lru_cache_keeps_the_most_recently_used():
    cache: LRUCache[str, int] = LRUCache(3)
    for i, key in enumerate("abc"):
        cache.put(key, i)
    assert cache.get("a") == 0  # a is now the most recent
    cache.put("d", 3)
    assert len(cache) == 3
    assert cache.get("b") is None and cache.get("a") == 0 and cache.get("c") == 2 and cache.get("d") == 3
    with pytest.raises(ValueError):
        LRUCache(0)


def test_the_key_cache_is_bounded():
    clock = Clock()
    checker = KeyChecker(lambda key: _key(key), ttl=100.0, clock=clock, max_entries=50)
    for i in range(1000):
        checker.lookup(f"key-{i}")
    assert len(checker._cache) == 50
    assert checker.cached("key-999") is not None and checker.cached("key-0") is None


def test_a_key_file_gives_keys_with_rights(tmp_path):
    path = tmp_path / "keys"
    path.write_text(f"# deploy keys\nplain-key\n{hash_key('loader-key')}  name=loader models=churn "
                    "uploads=sales,returns admin\n\n")
    keys = KeyFile(path)
    plain, loader = keys.lookup("plain-key"), keys.lookup("loader-key")
    assert plain is not None and plain.models == ["*"] and plain.uploads == [] and not plain.admin
    assert loader is not None and loader.name == "loader" and loader.models == ["churn"]
    assert loader.uploads == ["sales", "returns"] and loader.admin
    assert keys.lookup("other") is None


def test_a_key_file_is_re_read_when_it_changes(tmp_path):
    path = tmp_path / "keys"
    path.write_text("first-key\n")
    clock = Clock()
    keys = KeyFile(path, recheck=1.0, clock=clock)
    assert keys.lookup("first-key") is not None
    path.write_text("second-key uploads=sales\n")
    os.utime(path, ns=(10**18, 10**18))  # a different modification time, whatever the clock's resolution
    assert keys.lookup("second-key") is None  # not checked again yet
    clock.now = 1.5
    assert keys.lookup("first-key") is None
    assert keys.lookup("second-key").uploads == ["sales"]
    path.write_text("broken=line=here\nsecond-key bogus\n")  # an invalid file keeps the last good keys
    os.utime(path, ns=(2 * 10**18, 2 * 10**18))
    clock.now = 3.0
    assert keys.lookup("second-key") is not None


def test_a_bad_key_file_is_one_clear_error(tmp_path):
    with pytest.raises(SpecError, match="line 2: 'colour=red' is not understood"):
        parse_key_file("good-key\nother-key colour=red\n")
    with pytest.raises(SpecError, match="cannot be read"):
        KeyFile(tmp_path / "absent")
