"""Secrets stay where they are: planted in every place a spec or a setting can hold one, found nowhere.

A project reads its rows from PostgreSQL (a password in the source URL), keeps its registry
in PostgreSQL (a password in ``registry_url``), and is told by e-mail (SMTP passwords, one
written out, one as ``${NAME}``) and by webhook (a token in the path, one in the query, one
in a header). It trains, is shown, served (real uvicorn) and deployed (docker, kubernetes);
then every file podium wrote, every registry table, every log and every HTTP answer is
searched for each secret (the user's own podium.yaml and spec aside). The receivers prove
that the secrets were used.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from podium.cli.main import app
from podium.testing.servers import free_port

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
from make_churn import churn_frame  # noqa: E402

pytestmark = pytest.mark.reliability
PODIUM = str(Path(sys.executable).parent / "podium")
RECORD = {"plan": "pro", "region": "north", "tenure_months": 12, "monthly_fee": 55.0, "support_tickets": 2}


def _secret(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:16]}"


SECRETS = {name: _secret(name) for name in (
    "source-password", "registry-password", "smtp-password", "smtp-env-password", "hook-path-token",
    "hook-query-token", "hook-header-token", "settings-hook-token", "settings-smtp-password")}


@pytest.fixture
def hook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"path": self.path, "authorization": self.headers.get("Authorization"),
                             "body": body.decode()})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()


@pytest.fixture
def smtp() -> Iterator[tuple[str, list[Any], list[bytes]]]:
    controller_mod = pytest.importorskip("aiosmtpd.controller")
    from aiosmtpd.smtp import AuthResult, LoginPassword

    envelopes: list[Any] = []
    logins: list[bytes] = []

    class Mailbox:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            envelopes.append(envelope)
            return "250 Message accepted"

    def login(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
        ok = isinstance(auth_data, LoginPassword) and auth_data.password.decode() in (
            SECRETS["smtp-password"], SECRETS["smtp-env-password"])
        if ok:
            logins.append(auth_data.password)
        return AuthResult(success=ok, handled=False)

    port = free_port()
    controller = controller_mod.Controller(Mailbox(), hostname="127.0.0.1", port=port, authenticator=login,
                                           auth_require_tls=False)
    controller.start()
    try:
        yield f"127.0.0.1:{port}", envelopes, logins
    finally:
        controller.stop()


@pytest.fixture
def databases(postgres_url: str) -> Iterator[tuple[str, str]]:
    """A source database with a table of rows, and an empty registry database (their URLs, no password)."""
    suffix = uuid.uuid4().hex[:8]
    names = (f"secrets_src_{suffix}", f"secrets_reg_{suffix}")
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for name in names:
            connection.execute(sa.text(f"CREATE DATABASE {name}"))
    base = postgres_url.rsplit("/", 1)[0]
    source = sa.create_engine(f"{base}/{names[0]}")
    # no date column: what is tested is where secrets go (dates from SQL are tested with the SQL source)
    churn_frame(400, seed=5).drop(columns=["signup_date"]).to_sql("customers", source, index=False)
    source.dispose()
    try:
        yield f"{base}/{names[0]}", f"{base}/{names[1]}"
    finally:
        with admin.connect() as connection:
            for name in names:
                connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def _with_password(url: str, password: str) -> str:
    return url.replace("postgres@", f"postgres:{password}@", 1)


def test_planted_secrets_are_found_nowhere(tmp_path: Path, databases: tuple[str, str], hook, smtp) -> None:
    (source_url, registry_url), (hook_base, received), (smtp_address, envelopes, logins) = databases, hook, smtp
    project = tmp_path / "project"
    project.mkdir()
    (project / "podium.yaml").write_text(json.dumps({
        "registry_url": _with_password(registry_url, SECRETS["registry-password"]),
        "notify": ["log", {"webhook": f"{hook_base}/settings/{SECRETS['settings-hook-token']}"},
                   {"email": {"to": "ops@example.com", "smtp": smtp_address, "username": "bot",
                              "password": SECRETS["settings-smtp-password"], "allow_insecure_auth": True}}],
        "n_jobs": 1}))
    (project / "churn.yaml").write_text(json.dumps({
        "name": "churn", "target": "churned",
        "source": f"{_with_password(source_url, SECRETS['source-password'])}?table=customers",
        "candidates": ["logistic_regression", "decision_tree"], "budget": {"trials": 2}, "ensemble": False,
        "notify": [
            "log",
            {"webhook": {"url": f"{hook_base}/hook/{SECRETS['hook-path-token']}?token={SECRETS['hook-query-token']}",
                         "headers": {"Authorization": f"Bearer {SECRETS['hook-header-token']}"}}},
            {"email": {"to": "ops@example.com", "smtp": smtp_address, "username": "bot",
                       "password": SECRETS["smtp-password"], "allow_insecure_auth": True}},
            {"email": {"to": "ml@example.com", "smtp": smtp_address, "username": "bot",
                       "password": "${PODIUM_TEST_SMTP_PASSWORD}", "allow_insecure_auth": True}},
        ]}))
    env = {**os.environ, "PODIUM_HOME": str(project), "OMP_NUM_THREADS": "1", "COLUMNS": "200",
           "PODIUM_TEST_SMTP_PASSWORD": SECRETS["smtp-env-password"]}
    said: list[str] = []  # every command's stdout and stderr, and every HTTP answer

    def cli(*args: str) -> str:  # a real process
        done = subprocess.run([PODIUM, *args], cwd=project, capture_output=True, text=True, timeout=240, env=env)
        said.extend([done.stdout, done.stderr])
        assert done.returncode == 0, f"podium {' '.join(args)}: {done.stderr}"
        return done.stdout

    def ask(*args: str) -> str:  # the same command in this process: no interpreter to start
        done = CliRunner().invoke(app, ["--project", str(project), *args], env=env)
        said.extend([done.stdout, done.stderr])
        assert done.exit_code == 0, f"podium {' '.join(args)}: {done.stderr} {done.exception!r}"
        return done.stdout

    ran = json.loads(cli("run", "churn.yaml", "--json"))
    assert ran["status"] == "registered"
    assert all(n["ok"] for n in ran["notifications"]), ran["notifications"]
    run_id = ran["run_id"]
    # the secrets were used where they belong: the receivers got them
    assert received[0]["path"] == f"/hook/{SECRETS['hook-path-token']}?token={SECRETS['hook-query-token']}"
    assert received[0]["authorization"] == f"Bearer {SECRETS['hook-header-token']}"
    assert sorted(logins) == sorted([SECRETS["smtp-password"].encode(), SECRETS["smtp-env-password"].encode()])
    assert len(envelopes) == 2

    for args in (("models", "show", "churn@champion"), ("models", "show", "churn@champion", "--json"),
                 ("runs", "show", run_id),  # kubernetes: manifests and the image's docker context
                 ("deploy", "churn@champion", "--target", "kubernetes", "--out", str(tmp_path / "k8s"))):
        ask(*args)
    recorded = json.loads(ask("runs", "show", run_id, "--json"))["run"]["spec"]
    assert recorded["notify"][3]["email"]["password"] == "${PODIUM_TEST_SMTP_PASSWORD}"  # kept as written
    assert recorded["notify"][2]["email"]["password"] == "***"
    assert ":***@" in recorded["source"]
    assert (tmp_path / "k8s" / "image" / "Dockerfile").exists()

    said.extend(_serve_and_ask(project, env))

    found = {}
    for name, secret in SECRETS.items():
        where = _files_holding(secret, [project, tmp_path / "k8s"],
                               skip={project / "podium.yaml", project / "churn.yaml"})
        where += [f"output #{i}" for i, text in enumerate(said) if secret in text]
        where += [f"webhook body #{i}" for i, r in enumerate(received) if secret in r["body"]]
        where += [f"e-mail #{i}" for i, e in enumerate(envelopes) if secret.encode() in e.content]
        where += [f"registry table {t}" for t in _tables_holding(secret, registry_url)]
        if where:
            found[name] = where
    assert found == {}


def _serve_and_ask(project: Path, env: dict[str, str]) -> list[str]:
    port = free_port()
    log = project / "serve.log"
    with open(log, "wb") as out:
        service = subprocess.Popen([PODIUM, "serve", "churn@champion", "--port", str(port), "--workers", "1",
                                    "--no-auth", "--log-rate", "1", "--access-log", str(project / "access.log")],
                                   cwd=project, stdout=out, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    answers = []
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert service.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        for path in ("/v1/models/churn", "/v1/models", "/openapi.json", "/readyz", "/metrics"):
            answer = httpx.get(base + path, timeout=10)
            assert answer.status_code == 200, (path, answer.text)
            answers.append(answer.text)
        predicted = httpx.post(f"{base}/v1/models/churn/predict", json=RECORD, timeout=10)
        assert predicted.status_code == 200, predicted.text
        answers.append(predicted.text)
        described = json.loads(answers[0])
        assert ":***@" in described["lineage"]["source"]
    finally:
        service.send_signal(signal.SIGTERM)
        service.wait(30)
    return answers + [log.read_text()]



def _files_holding(secret: str, folders: list[Path], *, skip: set[Path]) -> list[str]:
    needle = secret.encode()
    return [str(path) for folder in folders for path in folder.rglob("*")
            if path.is_file() and path not in skip and needle in path.read_bytes()]


def _tables_holding(secret: str, registry_url: str) -> list[str]:
    engine = sa.create_engine(registry_url)
    try:
        metadata = sa.MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            return [table.name for table in metadata.sorted_tables
                    if any(secret in repr(tuple(row)) for row in connection.execute(table.select()))]
    finally:
        engine.dispose()
