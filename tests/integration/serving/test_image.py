"""The image of `podium deploy --target docker`, built and run the way a user would, with podman.

No registry is reachable here, so the base image is made offline (``../shared/INFRA.md`` §9):
a Debian bookworm minbase with python3 from debootstrap, standing in for ``python:3.11-slim-bookworm``
(built once per test session; ``PODIUM_TEST_PODMAN_DIR`` keeps it, and podman's storage,
between sessions). pip inside the build reaches PyPI. For a LightGBM champion and an ensemble
champion made by ``podium run``, the test builds the context, runs it with a read-only root
filesystem under an arbitrary UID, and checks health, a prediction equal to ``podium predict``,
401 without a key, the size the image adds to its base, a clean stop on SIGTERM, and that a
missing keys file stops it with one clear line. It skips, saying why, only where podman cannot run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest

from podium.testing.servers import free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
QUICKSTART = ROOT / "examples" / "quickstart"
PODIUM = str(Path(sys.executable).parent / "podium")
BASE = "docker.io/library/python:3.11-slim-bookworm"  # the Dockerfile's FROM, made here
KEY = "pdm_image-test-key"
MAX_ADDED_MB = 200  # what an ONNX-engine image may add to its base
ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]  # root lacks CAP_SYS_RESOURCE here


def _why_not() -> str | None:
    for tool in ("podman", "runc", "debootstrap"):
        if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists():
            return f"{tool} is not installed (make system-deps installs podman buildah runc debootstrap)"
    if os.geteuid() != 0:
        return "debootstrap and podman's storage here need root"
    return None


class Podman:
    """podman with its storage in a folder of its own and the runc runtime (INFRA §9)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.base = ["podman", "--root", str(root / "storage"), "--runroot", str(root / "run"),
                     "--runtime", "runc", "--cgroup-manager", "cgroupfs", "--events-backend", "file"]

    def __call__(self, *args: str, check: bool = True, timeout: float = 600,
                 **kwargs: object) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([*self.base, *args], capture_output=True, text=True, timeout=timeout,
                                **kwargs)  # type: ignore[call-overload]
        if check and result.returncode != 0:
            raise AssertionError(f"podman {' '.join(args[:3])}… failed ({result.returncode}):\n"
                                 f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result

    def size(self, image: str) -> int:
        return int(self("image", "inspect", "--format", "{{.Size}}", image).stdout.strip())


@pytest.fixture(scope="session")
def podman(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Podman]:
    reason = _why_not()
    if reason:
        print(f"\nSKIP image tests: {reason}")
        pytest.skip(reason)
    kept = os.environ.get("PODIUM_TEST_PODMAN_DIR")
    root = Path(kept) if kept else tmp_path_factory.mktemp("podman")
    root.mkdir(parents=True, exist_ok=True)
    tool = Podman(root)
    probe = tool("info", check=False, timeout=120)
    if probe.returncode != 0:
        reason = f"podman cannot run here: {(probe.stderr.strip().splitlines() or ['?'])[-1]}"
        print(f"\nSKIP image tests: {reason}")
        pytest.skip(reason)
    yield tool
    if not kept:  # podman bind-mounts its overlay storage: reset before the folder goes
        tool("system", "reset", "--force", check=False, timeout=300)


@pytest.fixture(scope="session")
def base_image(podman: Podman) -> str:
    """The stand-in for python:3.11-slim-bookworm: debootstrap minbase + python3 and pip."""
    if podman("image", "exists", BASE, check=False).returncode == 0:
        return BASE
    started = time.monotonic()
    rootfs = podman.root / "rootfs"
    shutil.rmtree(rootfs, ignore_errors=True)
    subprocess.run(["debootstrap", "--variant=minbase", "--include=python3,python3-pip,python3-venv,passwd,netbase",
                    "bookworm", str(rootfs), _debian_mirror()], check=True, capture_output=True, timeout=900)
    for leftover in [*(rootfs / "var/cache/apt/archives").glob("*.deb"), *(rootfs / "var/lib/apt/lists").glob("*_*")]:
        leftover.unlink()
    # pip in a RUN step verifies PyPI's certificate with the host's bundle; pip may install
    # system-wide (the official image's Python is not Debian's); `python` as in the official image
    shutil.copy("/etc/ssl/certs/ca-certificates.crt", rootfs / "etc/ssl/certs/ca-certificates.crt")
    for marker in (rootfs / "usr/lib").glob("python3*/EXTERNALLY-MANAGED"):
        marker.unlink()
    (rootfs / "usr/bin/python").unlink(missing_ok=True)
    (rootfs / "usr/bin/python").symlink_to("python3")
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    podman("import", "-", BASE, stdin=tar.stdout, timeout=600)
    assert tar.wait() == 0
    shutil.rmtree(rootfs)
    print(f"\nbase image {BASE} made offline in {time.monotonic() - started:.0f} s "
          f"({podman.size(BASE) / 1e6:.0f} MB)")
    return BASE


def _debian_mirror() -> str:
    """The Debian mirror this machine's apt already uses."""
    for sources in Path("/etc/apt/sources.list.d").glob("*.sources"):
        for line in sources.read_text().splitlines():
            if line.startswith("URIs:") and "security" not in line and "debian" in line:
                return line.split()[1]
    return "http://deb.debian.org/debian"


def podium(*args: str, project: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PODIUM_HOME": str(project), "COLUMNS": "200"}
    return subprocess.run([PODIUM, *args], cwd=project, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="session")
def champions(tmp_path_factory: pytest.TempPathFactory, podman: Podman) -> Path:
    """A project whose registry holds a LightGBM champion (`gbm`) and an ensemble one (`mix`)."""
    project = tmp_path_factory.mktemp("image-project")
    for name in ("customers.csv", "new_customers.csv"):
        shutil.copy(QUICKSTART / name, project / name)
    (project / "gbm.yaml").write_text(
        "name: gbm\nsource: customers.csv\ntarget: churned\ncandidates: [lightgbm]\n"
        "budget: {trials: 2}\nensemble: false\nregister: {model: gbm}\n")
    ran = podium("run", "gbm.yaml", "--json", project=project)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["leaderboard"][0]["candidate"] == "lightgbm"
    # diverse families on a ranking metric, kNN's serving cost allowed: the ensemble usually wins
    (project / "mix.yaml").write_text(
        "name: mix\nsource: customers.csv\ntarget: churned\nmetric: roc_auc\n"
        "candidates: [logistic_regression, knn, lightgbm]\nbudget: {trials: 5}\n"
        "constraints: {max_ensemble_us: null}\nregister: {model: mix}\n")
    for seed in (1, 2, 3):
        ran = podium("run", "mix.yaml", "--seed", str(seed), "--json", project=project)
        assert ran.returncode in (0, 3), ran.stderr
        if json.loads(ran.stdout)["leaderboard"][0]["candidate"] == "ensemble" \
                and json.loads(ran.stdout)["status"] == "registered":
            break
    else:
        pytest.fail("no ensemble champion in three seeds: the test needs one")
    return project


def _engine(context: Path) -> str:
    return context.joinpath("Dockerfile").read_text().splitlines()[0].rsplit("engine: ", 1)[1].rstrip(")")


@pytest.mark.timeout(1200)  # the first one also makes the base image (debootstrap: minutes)
@pytest.mark.parametrize("model", ["gbm", "mix"])
def test_the_image_serves_read_only_as_any_user(model: str, podman: Podman, base_image: str, champions: Path,
                                                 tmp_path: Path) -> None:
    context = tmp_path / "context"
    made = podium("deploy", f"{model}@champion", "--target", "docker", "--out", str(context), project=champions)
    assert made.returncode == 0, made.stderr
    engine = _engine(context)
    image = f"localhost/podium-{model}:test"
    started = time.monotonic()
    podman("build", "--isolation", "chroot", "--format", "docker", "-t", image, str(context), timeout=900)
    built_s = time.monotonic() - started
    added_mb = (podman.size(image) - podman.size(base_image)) / 1e6
    installed = {d["name"].lower() for d in json.loads(podman(
        "run", "--rm", *ULIMITS, "--network", "none", "--entrypoint", "python", image,
        "-m", "pip", "list", "--format", "json").stdout)}
    print(f"\n{model} ({engine} engine): built in {built_s:.0f} s, adds {added_mb:.0f} MB to its base; "
          f"{len(installed)} distributions")
    assert not [d for d in installed if d.startswith("nvidia-")], "GPU wheels in the image"
    assert "xgboost" not in installed  # none of these champions uses it; xgboost-cpu where one would
    openmp = "libgomp1" in context.joinpath("Dockerfile").read_text()
    if engine == "onnx":
        assert not installed & {"scikit-learn", "pandas", "lightgbm", "xgboost-cpu", "scipy"} and not openmp
        assert added_mb <= MAX_ADDED_MB
    else:  # LightGBM when the pickled model uses it, and then the OpenMP runtime it links
        assert ("lightgbm" in installed) == openmp
        assert "lightgbm" in installed or model != "gbm"

    keys = tmp_path / "podium-keys"
    keys.write_text(f"# the keys this service accepts\n{KEY}\n")
    port = free_port()
    name = f"podium-image-test-{model}-{port}"
    podman("run", "--detach", "--name", name, *ULIMITS, "-p", f"127.0.0.1:{port}:8000",
           "--read-only", "--read-only-tmpfs=false", "--tmpfs", "/tmp", "--user", "12345",
           "-v", f"{keys}:/run/secrets/podium/keys:ro", image)
    url = f"http://127.0.0.1:{port}"
    try:
        started = time.monotonic()
        _wait_ready(podman, name, url)
        print(f"{model}: ready {time.monotonic() - started:.1f} s after podman run (2 workers)")
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
        assert podman("healthcheck", "run", name, check=False).returncode == 0
        assert podman("exec", name, "id", "-u").stdout.strip() == "12345"
        touched = podman("exec", name, "touch", "/srv/podium/.podium/x", check=False)
        assert touched.returncode != 0 and "Read-only file system" in touched.stderr
        record = {"plan": "pro", "region": "west", "tenure_months": 12, "monthly_fee": 49.5,
                  "support_tickets": 3, "signup_date": "2023-01-15"}
        refused = httpx.post(f"{url}/v1/models/{model}/predict", json=record)
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        one = httpx.post(f"{url}/v1/models/{model}/predict", json=record, headers={"X-API-Key": KEY})
        assert one.status_code == 200, one.text
        docs = httpx.get(f"{url}/docs")
        assert docs.status_code == 200 and "/docs/assets/swagger-ui-bundle.js" in docs.text
        assert httpx.get(f"{url}/docs/assets/swagger-ui-bundle.js").status_code == 200

        # every row of the new customers, through the image and locally: the same answers
        local = podium("predict", f"{model}@champion", "-i", "new_customers.csv", "-o", "local.csv",
                       project=champions)
        assert local.returncode == 0, local.stderr
        remote = podium("predict", f"{model}@champion", "--url", url, "--api-key", KEY,
                        "-i", "new_customers.csv", "-o", f"remote-{model}.csv", project=champions)
        assert remote.returncode == 0, remote.stderr
        here, there = pd.read_csv(champions / "local.csv"), pd.read_csv(champions / f"remote-{model}.csv")
        assert len(here) == len(there) > 0
        assert (here["prediction"] == there["prediction"]).all()
        probabilities = [c for c in here.columns if c.startswith("proba_")]
        assert probabilities and set(probabilities) <= set(there.columns)
        for column in probabilities:
            assert (here[column] - there[column]).abs().max() <= 1e-6, column
        frame = pd.DataFrame([record])
        single, _ = _local_package(champions, model).predict_frame(frame)
        assert one.json()["prediction"] == single["prediction"][0]
        for label, value in one.json()["probabilities"].items():
            assert value == pytest.approx(single[f"proba_{label}"][0], abs=1e-6)

        assert podman("exec", name, "ls", "-A", "/srv/podium/.podium").stdout.split() == ["artifacts", "registry.db"]
    finally:
        stopped = podman("stop", "--time", "20", name, check=False)
        state = podman("inspect", "--format", "{{.State.ExitCode}}", name, check=False).stdout.strip()
        logs = podman("logs", name, check=False)
        podman("rm", "--force", name, check=False)
    assert stopped.returncode == 0 and state == "0", f"exit {state} on SIGTERM:\n{logs.stderr[-3000:]}"

    if model == "gbm":  # without its keys file the service stops at once and says why
        alone = podman("run", "--rm", *ULIMITS, "--network", "none", "--read-only", "--tmpfs", "/tmp",
                       "--user", "12345", image, check=False, timeout=120)
        assert alone.returncode == 2 and "No keys file at /run/secrets/podium/keys" in alone.stderr


def _local_package(project: Path, model: str):  # type: ignore[no-untyped-def]
    from podium.config import load_settings
    from podium.registry import Registry

    return Registry.from_settings(load_settings(project)).load(f"{model}@champion")


def _wait_ready(podman: Podman, name: str, url: str) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        running = podman("inspect", "--format", "{{.State.Running}}", name, check=False).stdout.strip()
        if running != "true":
            logs = podman("logs", name, check=False)
            raise AssertionError(f"the container stopped:\n{logs.stdout[-2000:]}\n{logs.stderr[-4000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError("the container did not become ready in 180 s")
