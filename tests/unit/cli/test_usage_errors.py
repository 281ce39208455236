"""A mistyped command or option is a usage error: one line with the close match, exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CLI = "from podium.cli.main import main; main()"


def podium(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", CLI, *args], capture_output=True, text=True, timeout=60, cwd=cwd)


@pytest.mark.parametrize(("args", "expected"), [
    (["modls", "list"], "No such command 'modls'. Did you mean 'models'? See: podium --help"),
    (["models", "lst"], "No such command 'lst'. Did you mean 'list'? See: podium models --help"),
    (["runs", "list", "--limt", "3"], "No such option: --limt. Did you mean --limit? See: podium runs list --help"),
    (["db", "upgrad"], "No such command 'upgrad'. Did you mean 'upgrade'? See: podium db --help"),
    (["runs", "list", "--limit", "many"], "Invalid value for '--limit'"),
    (["models", "show"], "Missing argument"),
    (["run", "--zzz"], "No such option: --zzz. See: podium run --help"),
])
def test_a_mistyped_command_or_option_is_one_line_and_exit_2(args, expected, tmp_path):
    result = podium(*args, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / ".podium").exists()  # nothing was run


def test_a_group_without_a_command_shows_its_help_and_exits_2(tmp_path):
    result = podium("db", cwd=tmp_path)
    assert result.returncode == 2
    assert "upgrade" in result.stdout + result.stderr and "current" in result.stdout + result.stderr
    assert "error" not in result.stderr


def test_the_cli_imports_no_heavy_library_before_a_command_needs_it():
    # every `podium` process pays its imports, and a run's budget counts them (its "start" phase)
    code = ("import sys, podium.cli.main; print(sorted(m for m in ('sklearn', 'scipy', 'torch', 'ray', 'fastapi', "
            "'lightgbm', 'xgboost', 'skl2onnx', 'onnxruntime', 'sqlalchemy', 'pandas', 'pyarrow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
