"""A plugin installed with pip competes without any change to podium (docs/plugins.md).

The example package ``examples/plugins/naive_bayes`` is pip-installed into a throwaway
folder (``--target``, no dependencies, no build isolation: offline and quick) that the
``podium`` processes get on their PYTHONPATH, so the shared environment is left alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "plugins" / "naive_bayes"
PODIUM = str(Path(sys.executable).parent / "podium")


def pip_install(packages: list[Path], target: Path, work: Path) -> None:
    """Install copies of ``packages`` (setuptools builds in the source folder) into ``target``, with one pip."""
    copies = []
    for package in packages:
        copies.append(work / package.name)
        shutil.copytree(package, copies[-1], ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                           "--no-index", "--target", str(target), *map(str, copies)],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr


def environment(*paths: Path, home: Path) -> dict[str, str]:
    extra = os.pathsep.join(str(p) for p in paths)
    python_path = os.pathsep.join(p for p in (extra, os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": python_path, "PODIUM_HOME": str(home), "OMP_NUM_THREADS": "1",
            "COLUMNS": "200"}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example plugin, pip-installed into a folder of its own."""
    work = tmp_path_factory.mktemp("plugin")
    target = work / "site"
    pip_install([EXAMPLE], target, work)
    return target


def test_the_example_plugin_is_listed_and_competes(installed: Path, tmp_path: Path) -> None:
    env = environment(installed, home=tmp_path)
    listed = subprocess.run([PODIUM, "catalog", "candidates"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert "naive_bayes [binary, multiclass]" in listed.stdout

    rng = np.random.default_rng(0)
    x = rng.normal(size=240)
    pd.DataFrame({"x": x, "noise": rng.normal(size=240), "color": rng.choice(["red", "blue"], 240),
                  "label": np.where(x + rng.normal(0, 0.5, 240) > 0, "yes", "no")}).to_csv(
        tmp_path / "table.csv", index=False)
    (tmp_path / "pipeline.yaml").write_text(
        "name: plugged\nsource: table.csv\ntarget: label\n"
        "candidates: [naive_bayes, logistic_regression]\nbudget: {trials: 2}\nseed: 1\n")
    ran = subprocess.run([PODIUM, "run", "pipeline.yaml", "--json"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=180)
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout)
    rows = {row["candidate"]: row for row in result["leaderboard"]}
    assert {"naive_bayes", "logistic_regression"} <= set(rows)
    assert rows["naive_bayes"]["status"] == "ok", rows["naive_bayes"]
    assert rows["naive_bayes"]["score"] > 0.7  # x separates the classes: naive Bayes learns it


def test_without_the_plugin_its_name_is_unknown(tmp_path: Path) -> None:
    (tmp_path / "table.csv").write_text("x,label\n" + "".join(f"{i % 7},{'ab'[i % 2]}\n" for i in range(40)))
    ran = subprocess.run([PODIUM, "run", "--data", "table.csv", "--target", "label", "--trials", "1",
                          "--candidates", "naive_bayes"], cwd=tmp_path, env=environment(home=tmp_path),
                         capture_output=True, text=True, timeout=60)
    assert ran.returncode == 2
    (line,) = ran.stderr.strip().splitlines()
    assert line.startswith("error: 'naive_bayes' is not a candidate."), ran.stderr


def test_the_example_plugins_own_tests_pass(installed: Path, tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE / "tests", tmp_path / "tests")
    ran = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
                         cwd=tmp_path, env=environment(installed, home=tmp_path),
                         capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "2 passed" in ran.stdout


@pytest.fixture(scope="module")
def scaffolds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """`podium new candidate my_family` and `podium new step my_step`, pip-installed: (folder, site)."""
    work = tmp_path_factory.mktemp("scaffolds")
    for kind, name in (("candidate", "my_family"), ("step", "my_step")):
        made = subprocess.run([PODIUM, "new", kind, name], cwd=work, env=environment(home=work),
                              capture_output=True, text=True, timeout=60)
        assert made.returncode == 0, made.stderr
        assert f"wrote the {kind} plugin '{name}' to ./{name}" in made.stdout
    pip_install([work / "my_family", work / "my_step"], work / "site", work / "copies")
    return work, work / "site"


def test_podium_new_writes_packages_whose_conformance_tests_pass(scaffolds: tuple[Path, Path]) -> None:
    work, site = scaffolds
    assert sorted(p.name for p in (work / "my_step").iterdir()) == [
        "README.md", "podium_my_step.py", "pyproject.toml", "tests"]
    ran = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "my_family/tests", "my_step/tests"],
                         cwd=work, env=environment(site, home=work), capture_output=True, text=True, timeout=180)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "4 passed" in ran.stdout


def test_scaffolded_plugins_compete_and_the_steps_converter_compiles_the_champion(
        scaffolds: tuple[Path, Path], tmp_path: Path) -> None:
    _, site = scaffolds
    rng = np.random.default_rng(0)
    x = rng.lognormal(size=240)
    pd.DataFrame({"x": x, "noise": rng.normal(size=240), "color": rng.choice(["red", "blue"], 240),
                  "label": np.where(np.log(x) + rng.normal(0, 0.5, 240) > 0, "yes", "no")}).to_csv(
        tmp_path / "table.csv", index=False)
    (tmp_path / "pipeline.yaml").write_text(
        "name: scaffolded\nsource: table.csv\ntarget: label\n"
        "steps:\n  - impute: {}\n  - my_step: {}\n  - one_hot: {}\n"
        "candidates: [my_family]\nbudget: {trials: 2}\nseed: 1\n")
    ran = subprocess.run([PODIUM, "run", "pipeline.yaml", "--json"], cwd=tmp_path,
                         env=environment(site, home=tmp_path), capture_output=True, text=True, timeout=180)
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout)
    champion = result["leaderboard"][0]
    assert champion["candidate"] == "my_family" and champion["status"] == "ok"
    # the step's converter, registered by the plugin, puts the whole pipeline in one ONNX graph
    assert champion["compiled"] is True and champion["engine"] == "onnx", champion


@pytest.mark.parametrize(("args", "expected"), [
    (["new", "candidate", "My-Family"], "error: 'My-Family' cannot name a plugin: use lowercase letters"),
    (["new", "step", "class"], "error: 'class' cannot name a plugin"),
    (["new", "candidate", "ridge"], "error: 'ridge' is already a candidate (podium catalog candidates)"),
    (["new", "step", "scale"], "error: 'scale' is already a step"),
    (["new", "candidate", "taken"], "error: ./taken already exists; podium new writes a new folder and never"),
])
def test_podium_new_refuses_bad_names_and_existing_folders(args: list[str], expected: str, tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    ran = subprocess.run([PODIUM, *args], cwd=tmp_path, env=environment(home=tmp_path),
                         capture_output=True, text=True, timeout=60)
    assert ran.returncode == 2
    (line,) = ran.stderr.strip().splitlines()
    assert line.startswith(expected), ran.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]  # nothing written
    assert (tmp_path / "taken" / "keep.txt").read_text() == "mine"
