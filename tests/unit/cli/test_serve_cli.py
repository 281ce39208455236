"""``podium serve`` options that deployments set through the environment."""

from __future__ import annotations

import subprocess
import sys


def _podium(*args: str, env: dict[str, str] | None = None, cwd: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-c", "from podium.cli.main import main; main()", *args], capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, **(env or {})}, timeout=60)


def test_a_keys_file_named_by_the_environment_must_exist(tmp_path):
    result = _podium("--project", str(tmp_path), "serve", "churn",
                     env={"PODIUM_KEYS_FILE": str(tmp_path / "missing")}, cwd=str(tmp_path))
    assert result.returncode == 2
    assert f"No keys file at {tmp_path / 'missing'}" in result.stderr
    assert "Traceback" not in result.stderr
