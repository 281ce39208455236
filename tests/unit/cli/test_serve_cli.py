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


def test_ray_serve_flags_need_the_ray_engine_and_sound_values(tmp_path):
    without = _podium("--project", str(tmp_path), "serve", "churn", "--max-replicas", "3", cwd=str(tmp_path))
    assert without.returncode == 2 and "--max-replicas applies to Ray Serve only" in without.stderr
    bounds = _podium("--project", str(tmp_path), "serve", "churn", "--engine", "ray", "--min-replicas", "3",
                     "--max-replicas", "2", cwd=str(tmp_path))
    assert bounds.returncode == 2 and "max_replicas (2) is below min_replicas (3)" in bounds.stderr
    deploy = _podium("--project", str(tmp_path), "deploy", "churn", "--target", "ray-serve", "--out",
                     str(tmp_path / "out"), "--target-ongoing-requests", "0", cwd=str(tmp_path))
    assert deploy.returncode == 2 and "--target-ongoing-requests: Input should be greater than 0" in deploy.stderr
    assert "Traceback" not in without.stderr + bounds.stderr + deploy.stderr
