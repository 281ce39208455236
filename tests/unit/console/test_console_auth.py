"""Who may use the console API: admin keys only, by header or by a signed cookie with CSRF."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from podium.console.auth import SessionSigner


def _api_paths(client: TestClient) -> list[tuple[str, str]]:
    """Every documented path (the OpenAPI document is public), parameters filled in."""
    schema = client.get("/api/openapi.json").json()
    return [(method.upper(), re.sub(r"\{[^}]+\}", "1", path)) for path, item in schema["paths"].items()
            for method in item]


def test_every_api_path_but_sign_in_answers_401_without_a_session(anonymous: TestClient) -> None:
    paths = _api_paths(anonymous)
    assert len(paths) >= 18
    for method, path in paths:
        if (method, path) == ("POST", "/api/session"):
            continue
        answer = anonymous.request(method, path, json={})
        assert answer.status_code == 401, (method, path, answer.text)
        assert answer.json()["detail"].startswith("Sign in first")
    assert anonymous.get("/api/no/such/path").status_code == 401


def test_a_key_without_the_admin_right_is_refused_naming_it(anonymous: TestClient, user_key: str) -> None:
    answer = anonymous.get("/api/models", headers={"Authorization": f"Bearer {user_key}"})
    assert answer.status_code == 403
    assert "no admin right" in answer.json()["detail"]
    answer = anonymous.post("/api/session", json={"key": user_key})
    assert answer.status_code == 403 and "no admin right" in answer.json()["detail"]
    assert anonymous.post("/api/session", json={"key": "pk_wrong"}).status_code == 401


def test_sign_in_sets_a_strict_http_only_cookie_and_state_changes_need_the_csrf_token(
        anonymous: TestClient, admin_key: str) -> None:
    answer = anonymous.post("/api/session", json={"key": admin_key})
    assert answer.status_code == 200
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    csrf = answer.json()["csrf"]
    assert anonymous.get("/api/models").json() == []  # the cookie is enough to read
    assert anonymous.get("/api/session").json()["csrf"] == csrf  # a reloaded page gets the token back
    body = {"yaml": "source: a.csv\ntarget: y\n"}
    refused = anonymous.post("/api/specs/validate", json=body)
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    assert anonymous.post("/api/specs/validate", json=body, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert anonymous.post("/api/specs/validate", json=body, headers={"X-CSRF-Token": csrf}).json()["ok"] is True
    assert anonymous.delete("/api/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert anonymous.get("/api/models").status_code == 401


def test_a_bearer_admin_key_needs_no_csrf_token(client: TestClient) -> None:
    answer = client.post("/api/specs/validate", json={"yaml": "source: a.csv\ntarget: y\n"})
    assert answer.status_code == 200 and answer.json() == {"ok": True, "errors": []}


def test_a_revoked_keys_session_ends(anonymous: TestClient, admin_key: str, registry) -> None:  # type: ignore[no-untyped-def]
    assert anonymous.post("/api/session", json={"key": admin_key}).status_code == 200
    registry.revoke_key("admin")
    answer = anonymous.get("/api/models")
    assert answer.status_code == 401 and "revoked" in answer.json()["detail"]


def test_a_forged_or_expired_cookie_is_no_session() -> None:
    signer = SessionSigner(b"s" * 32)
    cookie, csrf = signer.issue("key1", now=1000.0)
    session = signer.read(cookie, now=1001.0)
    assert session is not None and session.key_id == "key1" and signer.csrf_ok(session, csrf)
    assert signer.read(cookie, now=1000.0 + 13 * 3600) is None
    assert SessionSigner(b"t" * 32).read(cookie, now=1001.0) is None
    body, _, mac = cookie.partition(".")
    assert signer.read(body[:-2] + "AA." + mac, now=1001.0) is None


def test_without_sign_in_only_this_machine_and_this_origin_are_served(project, registry) -> None:  # type: ignore[no-untyped-def]
    from podium.config import load_settings
    from podium.console import ConsoleOptions, create_app

    app = create_app(load_settings(project), ConsoleOptions(auth=False), registry=registry)
    with TestClient(app, base_url="http://127.0.0.1:8080") as local:
        assert local.get("/api/models").json() == []
        assert local.get("/api/session").json() == {"key": "local", "csrf": "", "auth": False}
        body = {"yaml": "source: a.csv\ntarget: y\n"}
        assert local.post("/api/specs/validate", json=body, headers={"Origin": "http://127.0.0.1:8080"}).status_code == 200
        assert local.post("/api/specs/validate", json=body).status_code == 200  # no Origin: not a browser's cross-site request
        cross = local.post("/api/specs/validate", json=body, headers={"Origin": "http://evil.example"})
        assert cross.status_code == 403 and "another site" in cross.json()["detail"]
    with TestClient(app, base_url="http://evil.example") as rebound:  # DNS rebinding: the page's host name
        answer = rebound.get("/api/models")
        assert answer.status_code == 403 and "only on 127.0.0.1" in answer.json()["detail"]
