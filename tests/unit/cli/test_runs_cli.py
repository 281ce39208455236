from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium.cli import runs
from podium.cli.context import state
from podium.errors import UserError
from podium.spec import parse_spec


def test_a_run_whose_secrets_were_written_out_is_not_replayed(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(state, "project", tmp_path)
    spec = parse_spec({"source": "postgresql://app:hunter2@db.example.com/crm?table=t", "target": "y",
                       "notify": [{"email": {"to": "a@example.com", "password": "${SMTP_PASSWORD}"}}]})
    run_id = state.registry().start_run("model", spec=spec.recorded(), task=None, metric=None,
                                        dataset_fingerprint=None, source=None)
    result = CliRunner().invoke(runs.app, ["replay", run_id])
    assert isinstance(result.exception, UserError)
    assert str(result.exception).startswith(
        f"run {run_id} was made from a spec with secrets written out (source); podium keeps no secret")
    assert "hunter2" not in str(result.exception)
