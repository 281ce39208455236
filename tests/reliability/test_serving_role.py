"""Serving workers can run with a registry role that cannot write models.

On a real PostgreSQL server: the registry's owner trains and registers; a role that may only
read (and append to ``prediction_log``, and prune it by its retention) serves the model through the real ``podium serve``,
its predictions are logged, and its attempts to register or promote are refused.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import httpx
import pandas as pd
import pytest
from reliability_support import QUICKSTART, SPEC, cli, serve_cli, until
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from podium.errors import PodiumError
from podium.registry import Registry

pytestmark = pytest.mark.integration

#: what a serving role needs, as docs/registry.md gives it
GRANTS = """\
GRANT CONNECT ON DATABASE {db} TO {role};
GRANT USAGE ON SCHEMA public TO {role};
GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role};
GRANT INSERT, DELETE ON prediction_log TO {role};
GRANT INSERT, UPDATE, DELETE ON services TO {role};
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role};
"""


@pytest.fixture
def database(postgres_url: str) -> str:
    """A fresh database on the test server (its owner's URL)."""
    name = f"serving_role_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(postgres_url).set(database=name).render_as_string(hide_password=False)


def test_a_read_only_role_serves_and_logs_but_cannot_write_models(database: str, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    for name in ("customers.csv", "new_customers.csv"):
        shutil.copy(QUICKSTART / name, project / name)
    (project / "pipeline.yaml").write_text(SPEC)
    (project / "podium.yaml").write_text(f"registry_url: {database}\nn_jobs: 1\n")
    trained = cli(project, "run", "pipeline.yaml")
    assert trained.returncode == 0, trained.stderr
    made = cli(project, "keys", "create", "--name", "serving-test")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip().splitlines()[-1]

    role = f"podium_serve_{uuid.uuid4().hex[:8]}"
    owner = create_engine(database, isolation_level="AUTOCOMMIT")
    with owner.connect() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN"))
        for statement in GRANTS.format(db=make_url(database).database, role=role).splitlines():
            conn.execute(text(statement))
    role_url = make_url(database).set(username=role).render_as_string(hide_password=False)
    as_role = {"PODIUM_REGISTRY_URL": role_url}

    row = pd.read_csv(project / "new_customers.csv").drop(columns=["customer_id"]).iloc[0].to_dict()
    with serve_cli(project, "churn", "--workers", "1", "--log-rate", "1", "--access-log", "off",
                   env=as_role) as (url, log):
        answer = httpx.post(f"{url}/v1/models/churn/predict", json=row, timeout=10,
                            headers={"Authorization": f"Bearer {key}"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["version"] == 1 and answer.json()["prediction"] in ("yes", "no")
        with owner.connect() as conn:  # the sampled prediction reaches the log, written by the role
            until(lambda: conn.execute(text("SELECT count(*) FROM prediction_log")).scalar() >= 1, 60,
                  "the prediction log", log=log)
    assert "permission denied" not in log.read_text()

    with Registry(role_url, str(project / ".podium" / "artifacts")) as reader:
        package = reader.load("churn")  # it can read everything serving needs
        with pytest.raises(PodiumError, match=f"the registry role '{role}' may not make this change: "
                                              "permission denied for table"):
            reader.register("churn", package)
        with pytest.raises(PodiumError, match="permission denied for table"):
            reader.set_alias("churn", "staging", 1)
    refused = cli(project, "models", "promote", "churn:1", "--alias", "staging", env=as_role)
    assert refused.returncode != 0 and "may not make this change" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr
    with Registry(database, str(project / ".podium" / "artifacts")) as registry:
        assert [v.version for v in registry.list_versions("churn")] == [1]
        assert registry.resolve("churn@champion").aliases == ["champion"]
    owner.dispose()

