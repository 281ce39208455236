"""`podium keys`, `podium serve` and `podium deploy` as a user runs them, and the image's entrypoint."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from live_service import RECORD, registry_of, titanic_package

from podium.testing.servers import free_port

pytestmark = pytest.mark.integration

# the `podium` command, with the serving commands added where the CLI does not list them yet
CLI = """
import sys
from podium.cli import main as cli
from podium.cli.serve import register
names = {c.name or c.callback.__name__ for c in cli.app.registered_commands}
if "serve" not in names:
    register(cli.app)
cli.main()
"""


def podium(*args: str, project: Path, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CLI, "--project", str(project), *args], capture_output=True,
                          text=True, timeout=120, **kwargs)


def spawn(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})})


def wait_ready(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the service exited: {process.stdout.read()[-3000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError("the service did not become ready")


def stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        return process.wait()


@pytest.fixture(scope="module")
def cli_project(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cli-project")
    registry_of(folder).register("titanic", titanic_package(), alias="champion")
    return folder


def test_keys_create_list_revoke(cli_project):
    created = podium("keys", "create", "--name", "billing", "--model", "titanic", project=cli_project)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("pdm_") and "shown once" in created.stderr
    loader = podium("keys", "create", "--name", "loader", "--model", "titanic", "--upload", "passengers",
                    "--upload", "crew", "--admin", project=cli_project)
    assert loader.returncode == 0, loader.stderr
    listed = json.loads(podium("keys", "list", "--json", project=cli_project).stdout)
    billing = [k for k in listed if k["name"] == "billing"][0]
    assert key not in json.dumps(listed) and billing["models"] == ["titanic"]
    assert (billing["uploads"], billing["admin"]) == ([], False)
    found = registry_of(cli_project).find_key(loader.stdout.strip())
    assert found is not None and found.uploads == ["crew", "passengers"] and found.admin
    changed = podium("keys", "rights", "loader", "--no-uploads", "--no-admin", project=cli_project)
    assert changed.returncode == 0, changed.stderr
    found = registry_of(cli_project).find_key(loader.stdout.strip())
    assert found.uploads == [] and not found.admin and found.models == ["titanic"]
    assert podium("keys", "revoke", "billing", project=cli_project).returncode == 0
    assert registry_of(cli_project).check_key(key, "titanic") == "revoked"
    missing = podium("keys", "revoke", "nobody", project=cli_project)
    assert missing.returncode == 2 and "no API key named 'nobody'" in missing.stderr


def test_serve_refuses_an_unknown_model_before_starting(cli_project):
    result = podium("serve", "titanc@champion", "--port", str(free_port()), project=cli_project)
    assert result.returncode == 2 and "titanc" in result.stderr and "Traceback" not in result.stderr


def test_podium_serve(cli_project):
    _, key = registry_of(cli_project).create_key("serve-test")
    port = free_port()
    process = spawn(["--project", str(cli_project), "serve", "titanic@champion", "--port", str(port),
                     "--workers", "1", "--access-log", "off"])
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process)
        answer = httpx.post(f"{url}/v1/models/titanic/predict", json=RECORD, headers={"X-API-Key": key})
        assert answer.status_code == 200 and answer.json()["version"] == 1
        assert httpx.post(f"{url}/v1/models/titanic/predict", json=RECORD).status_code == 401
    finally:
        assert stop(process) == 0


def test_deploy_docker_entrypoint_runs_outside_a_container(cli_project, tmp_path):
    out = tmp_path / "build"
    result = podium("deploy", "titanic@champion", "--target", "docker", "--out", str(out), project=cli_project)
    assert result.returncode == 0, result.stderr
    assert "Dockerfile" in result.stdout and "docker build" in result.stderr
    entry = json.loads(re.search(r"^ENTRYPOINT (\[.*\])$", (out / "Dockerfile").read_text(), re.M).group(1))
    keys = tmp_path / "keys"
    keys.write_text("a-deploy-key\n")
    port = free_port()
    # the image's command and settings, with the image's paths mapped onto the build context
    project = out / "project"
    args = [{"/srv/podium": str(project), "0.0.0.0": "127.0.0.1", "8000": str(port)}.get(a, a)
            for a in entry[1:]]
    args[args.index("--workers") + 1] = "1"
    settings = yaml.safe_load((project / "podium.yaml").read_text())
    env = {"PODIUM_KEYS_FILE": str(keys), "PODIUM_PREDICTION_LOG": "off",
           "PODIUM_REGISTRY_URL": settings["registry_url"].replace("/srv/podium", str(project)),
           "PODIUM_ARTIFACTS_URL": settings["artifacts_url"].replace("/srv/podium", str(project))}
    before = sorted(p.name for p in (project / ".podium").iterdir())
    process = spawn(args, env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process)
        answer = httpx.post(f"{url}/v1/models/titanic/predict", json=RECORD,
                            headers={"Authorization": "Bearer a-deploy-key"})
        assert answer.status_code == 200, answer.text
        assert httpx.post(f"{url}/v1/models/titanic/predict", json=RECORD).status_code == 401
        meta = httpx.get(f"{url}/v1/models/titanic", headers={"X-API-Key": "a-deploy-key"}).json()
        assert meta["lineage"]["deployed_from"]["ref"] == "titanic@champion"
    finally:
        assert stop(process) == 0
    assert sorted(p.name for p in (project / ".podium").iterdir()) == before  # read-only: no WAL, no log


def test_deploy_kubernetes(cli_project, tmp_path):
    out = tmp_path / "k8s"
    result = podium("deploy", "titanic", "--target", "kubernetes", "--out", str(out), "--replicas", "2",
                    project=cli_project)
    assert result.returncode == 0, result.stderr
    kinds = {yaml.safe_load(p.read_text())["kind"] for p in out.glob("*.yaml")}
    assert kinds == {"Namespace", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget",
                     "NetworkPolicy", "Secret", "Kustomization"}
    assert "pdm_" not in result.stderr and "kubectl apply -k" in result.stderr  # no key printed
    assert "--keys-file" in result.stderr and "--image" in result.stderr
    unpinned = podium("deploy", "titanic", "--target", "kubernetes", "--out", str(tmp_path / "y"),
                      "--image", "reg.example/titanic:1", project=cli_project)
    assert unpinned.returncode == 2 and "not pinned by digest" in unpinned.stderr
    keys = tmp_path / "billing.key"
    keys.write_text("pdm_cli_billing_key models=titanic\n")
    image = "reg.example/titanic@sha256:" + "0f" * 32
    pinned = podium("deploy", "titanic", "--target", "kubernetes", "--out", str(tmp_path / "z"), "--image", image,
                    "--keys-file", str(keys), "--namespace", "ml", project=cli_project)
    assert pinned.returncode == 0, pinned.stderr
    deployment = yaml.safe_load((tmp_path / "z" / "deployment.yaml").read_text())
    assert deployment["metadata"]["namespace"] == "ml"
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == image
    secret = (tmp_path / "z" / "secret.yaml").read_text()
    assert "sha256:" in secret and "pdm_cli_billing_key" not in secret + pinned.stdout + pinned.stderr
    assert "set the image" not in pinned.stderr and "holds no API key" not in pinned.stderr  # nothing left to do
    wrong = podium("deploy", "titanic", "--target", "nomad", "--out", str(tmp_path / "x"), project=cli_project)
    assert wrong.returncode == 2 and "--target kubernetes or --target ray-serve" in wrong.stderr
