from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from podium.cli import datasets
from podium.cli.context import state
from podium.errors import NotFoundError, UserError


def sales(n: int = 200, seed: int = 0, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"amount": rng.normal(100 + shift, 10, n), "region": rng.choice(["n", "s"], n)})


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(state, "project", tmp_path)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args: str):
        result = runner.invoke(datasets.app, list(args), catch_exceptions=True)
        return result

    return invoke


def test_add_snapshot_versions_report(cli, tmp_path: Path) -> None:
    data = tmp_path / "sales.csv"
    sales().to_csv(data, index=False)
    result = cli("add", "sales", "sales.csv")
    assert result.exit_code == 0, result.output
    assert str(data) in result.output  # a local file is bound by its absolute path
    result = cli("snapshot", "sales")
    assert result.exit_code == 0 and "sales:1: 200 rows, 2 columns" in result.output
    result = cli("snapshot", "sales")
    assert result.exit_code == 0 and "unchanged: same content as sales:1" in result.output
    sales(seed=1, shift=20).to_csv(data, index=False)
    result = cli("snapshot", "sales")
    assert "sales:2" in result.output and "amount (PSI" in result.output
    result = cli("versions", "sales")
    assert result.exit_code == 0 and "yes amount" in result.output and "Versions of sales" in result.output
    listed = json.loads(cli("versions", "sales", "--json").output)
    assert [v["version"] for v in listed] == [1, 2] and listed[1]["drifted"] is True
    result = cli("report", "sales:2", "--out", "out/report.html")
    assert result.exit_code == 0, result.output
    page = (tmp_path / "out" / "report.html").read_text()
    assert "<svg" in page and "http://" not in page and "class='flagged'" in page
    result = cli("report", "sales:1", "--out", "r1.html", "--against", "sales:2")
    assert result.exit_code == 0 and "against sales:2" in (tmp_path / "r1.html").read_text()
    result = cli("list")
    assert result.exit_code == 0 and "sales" in result.output
    assert json.loads(cli("list", "--json").output)[0]["versions"] == 2


def test_upload_and_diff(cli, tmp_path: Path) -> None:
    first, second = tmp_path / "a.parquet", tmp_path / "b.csv"
    sales(20).to_parquet(first, index=False)
    pd.concat([sales(20).iloc[2:], sales(3, seed=4)]).to_csv(second, index=False)
    assert cli("upload", "orders", str(first)).exit_code == 0
    result = cli("upload", "orders", str(second))
    assert result.exit_code == 0 and "orders:2" in result.output
    result = cli("diff", "orders:1", "orders@latest")
    assert result.exit_code == 0, result.output
    assert "+3 rows added, -2 removed, 18 unchanged" in result.output
    assert json.loads(cli("diff", "orders:1", "orders:2", "--json").output)["rows_added"] == 3


def test_errors_are_podium_errors(cli, tmp_path: Path) -> None:
    result = cli("versions", "nope")
    assert isinstance(result.exception, NotFoundError) and "no dataset named 'nope'" in str(result.exception)
    (tmp_path / "x.csv").write_text("a\n1\n2\n")
    (tmp_path / "y.csv").write_text("a\n1\n3\n")
    assert cli("add", "x", "x.csv", "--option", "sep=,").exit_code == 0
    result = cli("add", "x", "y.csv")
    assert isinstance(result.exception, UserError) and "--replace" in str(result.exception)
    assert cli("add", "x", "y.csv", "--replace").exit_code == 0
    [listed] = json.loads(cli("list", "--json").output)
    assert listed["source"] == str(tmp_path / "y.csv")


def test_a_source_with_a_password_written_out_is_stored_with_a_note(cli, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    written = cli("add", "written", "postgresql://app:hunter2@db.example.com/crm?table=sales")
    assert written.exit_code == 0, written.output
    assert "holds secrets written out (source)" in written.output and "hunter2" not in written.output
    monkeypatch.setenv("PODIUM_TEST_DB_PASSWORD", "hunter2")
    referenced = cli("add", "referenced", "postgresql://app:${PODIUM_TEST_DB_PASSWORD}@db.example.com/crm?table=sales")
    assert referenced.exit_code == 0 and "written out" not in referenced.output
