"""`podium run` and `podium predict` straight from real PostgreSQL and Redis servers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from podium.data import resolve_source

pytestmark = pytest.mark.integration
PODIUM = str(Path(sys.executable).parent / "podium")
CUSTOMERS = Path(__file__).resolve().parents[2] / "examples" / "quickstart" / "customers.csv"


def _podium(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PODIUM, *args], cwd=project, capture_output=True, text=True, timeout=180,
                          env={**os.environ, "PODIUM_HOME": str(project), "OMP_NUM_THREADS": "1"})


def test_train_from_a_postgres_table_and_write_scores_back(tmp_path, postgres_url):
    customers = pd.read_csv(CUSTOMERS)
    resolve_source(f"{postgres_url}?table=customers").write(customers)
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")  # as a user types it
    ran = _podium(tmp_path, "run", "--data", f"{plain}?table=customers", "--target", "churned",
                  "--trials", "2", "--candidates", "logistic_regression", "--json")
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["model"]["name"] == "customers"
    resolve_source(f"{postgres_url}?table=new_customers").write(customers.drop(columns=["churned"]).head(25))
    scored = _podium(tmp_path, "predict", "customers@champion", "--input", f"{plain}?table=new_customers",
                     "--output", f"{plain}?table=scored")
    assert scored.returncode == 0, scored.stderr
    back = resolve_source(f"{postgres_url}?table=scored").read()
    assert len(back) == 25 and {"prediction", "proba_yes", "proba_no"} <= set(back.columns)


def test_train_from_redis_hashes(tmp_path, redis_url):
    customers = pd.read_csv(CUSTOMERS).drop(columns=["customer_id"]).head(400)
    resolve_source(f"{redis_url}?pattern=customer:*").write(customers)
    ran = _podium(tmp_path, "run", "--data", f"{redis_url}?pattern=customer:*", "--target", "churned",
                  "--name", "churn", "--trials", "2", "--candidates", "logistic_regression", "--json")
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout)
    assert result["status"] == "registered" and result["task"] == "binary"
    assert result["columns"]["tenure_months"] == "numeric"
