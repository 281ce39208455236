from __future__ import annotations

import pytest

from podium.serving.auth import KeyChecker, hash_key, key_from_headers, read_key_file, with_static_keys


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


def test_answers_are_remembered_until_they_expire():
    answers = {"k": "ok"}
    calls = []

    def check(key, model):
        calls.append((key, model))
        return answers.get(key, "unknown")

    clock = Clock()
    checker = KeyChecker(check, ttl=2.0, clock=clock)
    assert checker.verify("k", "m") == "ok"
    answers["k"] = "revoked"
    clock.now = 1.9
    assert checker.verify("k", "m") == "ok"
    clock.now = 2.1
    assert checker.verify("k", "m") == "revoked"
    assert checker.verify(None, "m") == "missing"
    assert len(calls) == 2


def test_refusals_are_401_or_403_with_a_reason():
    assert KeyChecker.refusal("missing", "m")[0] == 401
    assert KeyChecker.refusal("revoked", "m") == (401, "The API key has been revoked.")
    assert KeyChecker.refusal("forbidden", "churn") == (403, "The API key has no access to model 'churn'.")


def test_a_key_file_adds_keys_plain_or_hashed(tmp_path):
    path = tmp_path / "keys"
    path.write_text(f"# deploy keys\nplain-key\n{hash_key('hashed-key')}\n\n")
    check = with_static_keys(read_key_file(path), lambda key, model: "unknown")
    assert check("plain-key", "m") == "ok" and check("hashed-key", "m") == "ok"
    assert check("other", "m") == "unknown"
