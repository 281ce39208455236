"""The registry upgrades: a database made by podium 0.1.0 works after `podium db upgrade`, a new one
is created at head with exactly the code's tables, and one behind head is refused with the fix."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text

from podium.errors import RegistryRevisionError
from podium.registry import Registry
from podium.registry.engine import create_registry_engine
from podium.registry.migrate import (
    BASELINE,
    alembic_config,
    declared_head,
    ensure_schema,
    head_revision,
    schema_status,
    script_directory,
    upgrade_schema,
)
from podium.registry.tables import registry_metadata
from podium.testing.servers import free_port

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "registry-0.1.0"
CLI = "from podium.cli.main import main; main()"


def podium(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", CLI, "--project", str(project), *args], capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def old_project(tmp_path: Path) -> Path:
    """A copy of the project folder that podium 0.1.0 wrote."""
    return Path(shutil.copytree(FIXTURE / "project", tmp_path / "project"))


@pytest.fixture
def fresh_postgres(postgres_url: str) -> Iterator[str]:
    """A new, empty database on the session's PostgreSQL server."""
    name = f"upgrade_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield postgres_url.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_a_registry_made_by_podium_0_1_0_is_upgraded_then_lists_predicts_and_serves(old_project: Path):
    fixture = json.loads((FIXTURE / "fixture.json").read_text())
    head = head_revision()

    refused = podium(old_project, "models", "list")
    assert refused.returncode == 2, refused.stderr
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in refused.stderr
    assert f"revision {BASELINE} (podium 0.1.0" in lines[0] and f"needs revision {head}" in lines[0]
    assert "podium db upgrade" in lines[0]

    upgraded = podium(old_project, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"{BASELINE} (podium 0.1.0, before migrations) → {head}" in upgraded.stdout
    again = podium(old_project, "db", "upgrade", "--json")
    assert json.loads(again.stdout) == {"from": head, "to": head, "legacy": False, "upgraded": False}
    status = json.loads(podium(old_project, "db", "current", "--json").stdout)
    assert status == {"current": head, "head": head, "legacy": False, "up_to_date": True}

    models = json.loads(podium(old_project, "models", "list", "--json").stdout)
    churn = next(m for m in models if m["name"] == fixture["model"])
    assert churn["versions"] == len(fixture["versions"]) and churn["aliases"] == fixture["aliases"]
    runs = json.loads(podium(old_project, "runs", "list", "--json").stdout)
    assert len(runs) == fixture["runs"] and {r["status"] for r in runs} == {"succeeded"}
    assert fixture["dataset"] in podium(old_project, "datasets", "list").stdout
    assert fixture["pipeline"] in podium(old_project, "pipelines", "list").stdout

    scored_path = old_project / "scored.csv"
    predicted = podium(old_project, "predict", f"{fixture['model']}@champion",
                       "--input", str(old_project / "new_customers.csv"), "--output", str(scored_path))
    assert predicted.returncode == 0, predicted.stderr
    rows = pd.read_csv(old_project / "new_customers.csv")
    scored = pd.read_csv(scored_path)
    assert len(scored) == len(rows) and scored["prediction"].notna().all()

    record = json.loads(rows.iloc[[0]].to_json(orient="records"))[0]
    del record["customer_id"]  # an identifier: the model's input does not have it
    expected = scored["prediction"].iloc[0]
    with _serving(old_project, f"{fixture['model']}@champion") as url:
        path = f"{url}/v1/models/{fixture['model']}/predict"
        answer = httpx.post(path, json=record, headers={"X-API-Key": fixture["api_key"]}, timeout=10)
        assert answer.status_code == 200, answer.text
        assert answer.json()["version"] == fixture["aliases"]["champion"]
        assert str(answer.json()["prediction"]) == str(expected)
        assert httpx.post(path, json=record, headers={"X-API-Key": "pdm_not-a-key"}, timeout=10).status_code == 401


class _serving:
    """`podium serve REF` on 127.0.0.1 with one worker, until the block ends."""

    def __init__(self, project: Path, ref: str) -> None:
        self.port = free_port()
        self.args = [sys.executable, "-c", CLI, "--project", str(project), "serve", ref, "--port", str(self.port),
                     "--workers", "1", "--access-log", "off"]

    def __enter__(self) -> str:
        self.process = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        start_new_session=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
        url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the service exited: {self.process.stdout.read()[-3000:]}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    return url
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.__exit__()
        raise AssertionError("the service did not become ready")

    def __exit__(self, *_exc: object) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _differences(url: str) -> list[object]:
    engine = create_registry_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return [d for d in compare_metadata(context, registry_metadata())]
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_new_registry_is_created_at_head_with_exactly_the_code_tables(backend: str, tmp_path: Path,
                                                                       request: pytest.FixtureRequest):
    url = (f"sqlite:///{tmp_path / 'registry.db'}" if backend == "sqlite"
           else request.getfixturevalue("fresh_postgres"))
    with Registry(url, str(tmp_path / "artifacts")) as registry:
        assert registry.list_models() == []  # first use: the database is created, nobody is asked
        assert schema_status(registry.engine).up_to_date
    assert _differences(url) == []


def test_the_migrations_are_one_line_from_the_baseline():
    revisions = list(script_directory().walk_revisions())  # head first; raises on several heads
    assert revisions[0].revision == head_revision() and revisions[-1].revision == BASELINE
    assert declared_head() == head_revision()  # what a serving worker reads without Alembic
    for newer, older in zip(revisions, revisions[1:]):
        assert newer.down_revision == older.revision
        assert Path(newer.path).name.startswith(f"{newer.revision}_")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_database_behind_head_is_refused_until_upgraded(backend: str, tmp_path: Path,
                                                          request: pytest.FixtureRequest):
    url = (f"sqlite:///{tmp_path / 'registry.db'}" if backend == "sqlite"
           else request.getfixturevalue("fresh_postgres"))
    engine = create_registry_engine(url)
    head = head_revision()
    try:
        # a 0.1.0 database: the baseline's tables and no revision recorded
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), BASELINE)
            conn.execute(text("DROP TABLE alembic_version"))
        with pytest.raises(RegistryRevisionError, match=rf"at revision {BASELINE} \(podium 0.1.0"):
            ensure_schema(engine)
        older = [r.revision for r in script_directory().walk_revisions() if r.revision != head][::-1]
        for revision in older:  # and every revision from the baseline up to head
            with engine.begin() as conn:
                command.upgrade(alembic_config(conn), revision)
            with pytest.raises(RegistryRevisionError) as refused:
                ensure_schema(engine)
            message = str(refused.value)
            assert f"at revision {revision};" in message and f"needs revision {head}." in message
            assert message.endswith("run: podium db upgrade") and "\n" not in message
        before, after = upgrade_schema(engine)
        assert before.current == (older[-1] if older else BASELINE)
        assert after.current == head and after.up_to_date
        assert upgrade_schema(engine) == (after, after)
    finally:
        engine.dispose()
    assert _differences(url) == []


def test_a_database_a_newer_podium_upgraded_is_refused(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    with Registry(url, str(tmp_path / "artifacts")) as registry:
        registry.list_models()
        with registry.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with Registry(url, str(tmp_path / "artifacts")) as registry:
        with pytest.raises(RegistryRevisionError, match="at revision 9999, which this podium does not know"):
            registry.list_models()
        with pytest.raises(RegistryRevisionError, match="9999"):
            upgrade_schema(registry.engine)


# several processes open a new registry at the same moment: all of them work, it is created once
RACER = """
import sys, time
from pathlib import Path
from podium.registry import Registry
go, url, artifacts = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
deadline = time.monotonic() + 60
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.005)
with Registry(url, artifacts) as registry:
    print(len(registry.list_models()))
"""


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_processes_opening_a_new_registry_together_all_succeed(backend: str, tmp_path: Path,
                                                              request: pytest.FixtureRequest):
    url = (f"sqlite:///{tmp_path / 'registry.db'}" if backend == "sqlite"
           else request.getfixturevalue("fresh_postgres"))
    go = tmp_path / "go"
    racers = [subprocess.Popen([sys.executable, "-c", RACER, str(go), url, str(tmp_path / "artifacts")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    go.touch()
    for racer in racers:
        stdout, stderr = racer.communicate(timeout=120)
        assert racer.returncode == 0, stderr
        assert stdout.strip() == "0"
    engine = create_registry_engine(url)
    try:
        assert schema_status(engine).up_to_date
    finally:
        engine.dispose()
