"""One redaction for everything podium records or shows; ``${NAME}`` resolved only when used."""

from __future__ import annotations

import pytest

from podium._internal.redact import expand_env, masked, redact, redact_url
from podium.config import load_settings, resolve_secrets
from podium.errors import SpecError
from podium.spec import parse_spec


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://app:s3cret@db/crm?table=customers", "postgresql://app:***@db/crm?table=customers"),
    ("postgresql://app:${PG_PASSWORD}@db/crm", "postgresql://app:${PG_PASSWORD}@db/crm"),
    ("redis://:pw@h:6379/0?pattern=c:*", "redis://:***@h:6379/0?pattern=c:*"),
    ("https://h/x.csv?api_key=abc&v=1", "https://h/x.csv?api_key=***&v=1"),
    ("sqlite:///tmp/x.db", "sqlite:///tmp/x.db"),
    ("data/x.csv", "data/x.csv"),
])
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_a_webhook_url_keeps_only_where_it_goes() -> None:
    assert redact_url("https://hooks.slack.com/services/T0/B0/s3cret", hide_path=True) == \
        "https://hooks.slack.com/…"
    assert redact_url("https://hooks.example.com/${HOOK_PATH}", hide_path=True) == \
        "https://hooks.example.com/${HOOK_PATH}"


def test_redact_walks_a_spec_and_keeps_references() -> None:
    spec = {
        "source": {"url": "postgresql://app:pw1@db/crm", "query": "select 1"},
        "notify": ["log",
                   {"webhook": "https://hooks.example.com/T0/pw2"},
                   {"webhook": {"url": "http://127.0.0.1:9/h?token=pw3",
                                "headers": {"Authorization": "Bearer pw4", "X-Key": "${HOOK_KEY}"}}},
                   {"email": {"to": "ops@example.com", "username": "bot", "password": "pw5"}},
                   {"email": {"to": "ops@example.com", "username": "bot", "password": "${SMTP_PASSWORD}"}}],
        "target": "churned",
    }
    shown = redact(spec)
    assert not any(f"pw{i}" in repr(shown) for i in range(1, 6))
    assert shown["source"] == {"url": "postgresql://app:***@db/crm", "query": "select 1"}
    assert shown["notify"][2]["webhook"]["headers"] == {"Authorization": "***", "X-Key": "${HOOK_KEY}"}
    assert shown["notify"][3]["email"] == {"to": "ops@example.com", "username": "bot", "password": "***"}
    assert shown["notify"][4]["email"]["password"] == "${SMTP_PASSWORD}"
    assert shown["target"] == "churned"
    assert masked(shown) == ["source.url", "notify[2].webhook.headers.Authorization", "notify[3].email.password"]


def test_expand_env() -> None:
    env = {"A": "1", "B": "two"}
    assert expand_env({"x": ["${A}-${B}", "$${A}", 3]}, env) == {"x": ["1-two", "${A}", 3]}


def test_a_missing_variable_is_named_with_where_it_was_used() -> None:
    with pytest.raises(SpecError, match=r"^source: the environment variable 'NOPE_NOT_SET' is not set\. "
                                        r"Hint: export NOPE_NOT_SET="):
        resolve_secrets("postgresql://u:${NOPE_NOT_SET}@h/db", where="source", environ={})


def test_the_recorded_spec_holds_no_literal_secret() -> None:
    spec = parse_spec({"source": "postgresql://app:hunter2@db/crm?table=t", "target": "y",
                       "notify": [{"email": {"to": "a@example.com", "password": "${SMTP_PW}"}}]})
    recorded = spec.recorded()
    assert recorded["source"] == "postgresql://app:***@db/crm?table=t"
    assert recorded["notify"] == [{"email": {"to": "a@example.com", "password": "${SMTP_PW}"}}]
    assert spec.source == "postgresql://app:hunter2@db/crm?table=t"  # the spec itself is as written
    changed = parse_spec({**spec.model_dump(by_alias=True), "source": "postgresql://app:other@db/crm?table=t"})
    assert changed.fingerprint() == spec.fingerprint()  # a secret is not what the spec is


def test_settings_resolve_references_when_used(tmp_path) -> None:
    (tmp_path / "podium.yaml").write_text("registry_url: postgresql://app:${PG_PW}@db/reg\n")
    settings = load_settings(tmp_path, environ={})
    assert settings.registry_url == "postgresql://app:${PG_PW}@db/reg"  # kept as written
    with pytest.raises(SpecError, match="registry_url: the environment variable 'PG_PW' is not set"):
        settings.resolved_registry_url


def test_a_source_reads_its_references_when_it_is_opened(tmp_path, monkeypatch) -> None:
    from podium.data import resolve_source

    (tmp_path / "rows.csv").write_text("a,b\n1,2\n")
    monkeypatch.setenv("PODIUM_TEST_DATA_DIR", str(tmp_path))
    source = resolve_source("${PODIUM_TEST_DATA_DIR}/rows.csv")
    assert source.read().to_dict("records") == [{"a": 1, "b": 2}]
    monkeypatch.delenv("PODIUM_TEST_DATA_DIR")
    with pytest.raises(SpecError, match=r"^source: the environment variable 'PODIUM_TEST_DATA_DIR' is not set"):
        resolve_source("${PODIUM_TEST_DATA_DIR}/rows.csv")
