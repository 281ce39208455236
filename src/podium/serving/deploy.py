"""Deploy targets: a Docker build context, or Kubernetes manifests, that serve one model version;
or a Ray Serve application that serves a model from the registry, following its alias.

The image holds a podium project of its own: the model version copied into a local registry
that the service opens read-only (SQLite, immutable), served by the same ``podium serve`` as
on a laptop. It installs only what the package's engine needs, pinned to the versions that
served it here: for an ONNX engine numpy, ONNX Runtime and the serving stack; for the
scikit-learn engine the libraries the pickled model refers to as well (LightGBM with the
OpenMP runtime it links, XGBoost as its CPU-only wheel). It runs under any UID with a
read-only root filesystem: nothing is written under ``/srv/podium``; the prediction log is
off unless ``PODIUM_PREDICTION_LOG`` names a database (a mounted volume, or a remote one).
API keys come from a file mounted at ``PODIUM_KEYS_FILE`` (one a line, plain or
``sha256:HEX``) — a Kubernetes Secret, or a Docker volume or secret — never from the build
context, whose ``.dockerignore`` keeps key files out.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import re
import shutil
import sqlite3
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from podium.errors import SpecError

__all__ = ["DeployResult", "write_docker", "write_kubernetes", "write_ray_serve", "pinned_requirements",
           "requirements_lines", "model_libraries", "engine_of", "preload", "KEYS_FILE"]

APP_DIR = "/srv/podium"
KEYS_DIR = "/run/secrets/podium"
KEYS_FILE = f"{KEYS_DIR}/keys"
BASE_IMAGE = "python:3.11-slim-bookworm"
USER_ID = 10001
#: the packaged registry, opened read-only: no WAL or journal files, no folder created
REGISTRY_URL = f"sqlite:///file:{APP_DIR}/.podium/registry.db?mode=ro&immutable=1&uri=true"

#: what ``podium serve`` imports whatever the engine (uvicorn's fast loop and parser included)
_SERVE_PACKAGES = ("fastapi", "uvicorn", "uvloop", "httptools", "prometheus-client", "orjson", "pydantic",
                   "pyyaml", "sqlalchemy", "alembic", "fsspec", "typer", "rich", "numpy", "packaging",
                   "threadpoolctl")
#: what each engine scores with
_ENGINE_PACKAGES = {"onnx": ("onnxruntime",),
                    "sklearn": ("scikit-learn", "scipy", "joblib", "pandas"),
                    # a forecast package: its pickled forecaster; the libraries it refers to
                    # (statsforecast, lightgbm, torch…) come from model_libraries
                    "forecaster": ("joblib", "pandas")}
#: podium's dependencies that serving does not import (training, data sources, automation, the
#: client); a test checks that every dependency podium declares is in one of these three lists
NOT_SERVING = ("pyarrow", "lightgbm", "xgboost", "openpyxl", "httpx", "croniter",
               "cryptography")  # signatures: the image's copy of a package is unsigned
#: the CPU-only wheel of a library whose default wheel pulls GPU runtimes (nvidia-nccl: 469 MB)
_CPU_VARIANTS = {"xgboost": "xgboost-cpu"}
#: libraries whose wheels link the system's OpenMP runtime instead of bundling it
_NEEDS_LIBGOMP = {"lightgbm"}


@dataclass
class DeployResult:
    """What a deploy target wrote, and what to do next."""

    out_dir: Path
    files: list[Path] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)


def write_docker(registry: Any, ref: str, out_dir: str | Path, *, port: int = 8000,
                 workers: int = 2) -> DeployResult:
    """Write a Docker build context serving ``ref`` into ``out_dir`` (new or empty)."""
    out = _fresh_dir(out_dir)
    info = registry.resolve(ref)
    name, version = str(info.name), int(info.version)
    package = registry.load(f"{name}:{version}")
    engine = engine_of(package)
    libraries = model_libraries(package.pipeline) if engine in ("sklearn", "forecaster") else set()
    serve_ref = _copy_model(package, name, version, ref, out / "project")
    _copy_podium(out / "podium")
    (out / "requirements.txt").write_text(
        f"# {name} v{version}, engine {engine}: pinned to what served it where it was deployed from;\n"
        "# installed with --no-deps, so this list is all there is\n"
        + requirements_lines(pinned_requirements(engine=engine, libraries=libraries)))
    (out / ".dockerignore").write_text(_DOCKERIGNORE)
    (out / "Dockerfile").write_text(_dockerfile(serve_ref, engine=engine, port=port, workers=workers,
                                                libgomp=bool(libraries & _NEEDS_LIBGOMP)))
    image = default_image(name, version)
    run = (f"docker run --read-only --tmpfs /tmp -p {port}:{port} "
           f"-v \"$PWD/podium-keys:{KEYS_FILE}:ro\" {image}")
    (out / "README.md").write_text(_readme(name, version, engine, image, port, run))
    _world_readable(out)
    files = sorted(p for p in out.rglob("*") if p.is_file() and "podium/src" not in p.as_posix()
                   and "/.podium/" not in p.as_posix())
    return DeployResult(out, files, [f"build: docker build -t {image} {out}",
                                     "keys:  put API keys in a file outside the context, one a line "
                                     "(podium keys create prints one)",
                                     f"run:   {run}"])


def write_kubernetes(registry: Any, ref: str, out_dir: str | Path, *, replicas: int = 2,
                     image: str | None = None, keys_file: str | Path | None = None,
                     prediction_log_secret: str | None = None, namespace: str = "podium",
                     port: int = 8000, workers: int = 2) -> DeployResult:
    """Write Deployment, Service, HorizontalPodAutoscaler, PodDisruptionBudget, NetworkPolicy and
    Secret manifests (and the image's context). ``image`` is pinned by digest
    (``REGISTRY/NAME@sha256:…``; a placeholder to replace when absent); ``keys_file`` holds the
    API keys, written to the Secret as their sha256 only (an empty Secret when absent); no key is
    made, printed or written here. ``prediction_log_secret`` names a Secret whose ``url`` is a
    remote prediction log (off otherwise: a pod's own disk dies with it). Everything goes in
    ``namespace``, whose manifest enforces the "restricted" Pod Security level."""
    if not _DNS_LABEL.fullmatch(namespace):
        raise SpecError(f"--namespace {namespace!r} is not a Kubernetes namespace name.",
                        hint="lower-case letters, digits and '-', at most 63")
    if replicas < 2:
        raise SpecError(f"--replicas {replicas}: a service needs at least 2 replicas to stay up "
                        "while one restarts.", hint="use --replicas 2 or more")
    if image is not None and not _DIGEST.search(image):
        raise SpecError(f"--image {image} is not pinned by digest: a tag can point at another build "
                        "tomorrow, and pods would then run different models.",
                        hint="push the image, then pass REGISTRY/NAME@sha256:… "
                             "(docker inspect --format '{{index .RepoDigests 0}}' IMAGE prints it)")
    keys = _hashed_keys(Path(keys_file)) if keys_file is not None else ""
    out = _fresh_dir(out_dir)
    info = registry.resolve(ref)
    name, version = str(info.name), int(info.version)
    local = default_image(name, version)
    placeholder = f"REGISTRY/{local.split(':', 1)[0]}@sha256:DIGEST"
    built = write_docker(registry, ref, out / "image", port=port, workers=workers)
    app = re.sub(r"[^a-z0-9-]+", "-", f"podium-{name}".lower()).strip("-")[:63]
    manifests = _manifests(app, name, version, image=image or placeholder, replicas=replicas, port=port,
                           keys=keys, prediction_log_secret=prediction_log_secret)
    manifests = {"namespace": _namespace(namespace), **manifests}
    for document in list(manifests.values())[1:]:
        document["metadata"] = {"name": document["metadata"]["name"], "namespace": namespace,
                                **document["metadata"]}
    files = []
    for kind, document in manifests.items():
        path = out / f"{kind}.yaml"
        path.write_text(yaml.dump(document, Dumper=_PlainDumper, sort_keys=False))
        files.append(path)
    kustomization = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                     "resources": [p.name for p in files]}
    (out / "kustomization.yaml").write_text(yaml.safe_dump(kustomization, sort_keys=False))
    files.append(out / "kustomization.yaml")
    steps = [f"build and push the image: docker build -t REGISTRY/{local} {out / 'image'} "
             f"&& docker push REGISTRY/{local}"]
    if image is None:
        steps.append(f"set the image: replace {placeholder} in {out / 'deployment.yaml'} with the pushed "
                     "image's digest (docker inspect --format '{{index .RepoDigests 0}}' REGISTRY/"
                     f"{local}), or deploy again with --image REGISTRY/NAME@sha256:…")
    if not keys:
        steps.append(f"the Secret holds no API key yet (every request gets 401): make one with "
                     f"podium keys create --name NAME > NAME.key, give it to the client, and deploy "
                     f"again with --keys-file NAME.key (only its sha256 is written), or add its "
                     f"sha256:HEX line to {out / 'secret.yaml'}")
    steps.append(f"apply: kubectl apply -k {out}  (into namespace {namespace}; a changed Secret, applied "
                 "again, rolls the pods)")
    return DeployResult(out, files + built.files, steps)


_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")

#: Ray Serve's import path of podium's application builder (podium.serving.rayserve)
RAY_SERVE_IMPORT_PATH = "podium.serving.rayserve:app_builder"


def write_ray_serve(registry: Any, ref: str, out_dir: str | Path, *, options: Any, scaling: Any,
                    port: int = 8000) -> DeployResult:
    """Write ``serve_config.yaml`` (``serve run`` / ``serve deploy``) serving ``ref`` on Ray Serve.

    Unlike the image targets, the application serves from the registry itself (``options``: a
    ``ServeOptions`` with the registry's URLs), so it follows the alias when a version is
    promoted; ``scaling`` (a ``RayServeOptions``) sets its replicas and autoscaling. A registry
    URL holding a password is left out of the file: the replicas then read
    ``PODIUM_REGISTRY_URL`` from their environment.
    """
    from urllib.parse import urlsplit

    info = registry.resolve(ref)  # a ref that names nothing fails here, before any file is written
    name, version = str(info.name), int(info.version)
    out = _fresh_dir(out_dir)
    app = scaling.app_name or re.sub(r"[^A-Za-z0-9_-]+", "-", f"podium-{name}").strip("-")
    serve_options = options.model_dump(mode="json", exclude_defaults=True,
                                        exclude={"workers", "metrics_dir", "service_id"})
    # where Serve's proxies listen (on every node): the URL the registry records for the console
    serve_options.update(refs=[ref], host="0.0.0.0", port=port)
    steps = []
    url = str(options.registry_url or "")
    if urlsplit(url).password:
        serve_options.pop("registry_url", None)
        steps.append("the registry URL holds a password, so it is not in the file: set PODIUM_REGISTRY_URL "
                     "in the environment of every Ray node (or in the application's runtime_env env_vars)")
    local = [u for u in (url, str(options.artifacts_url or "")) if u.startswith(("sqlite", "/", "file:"))
             or (u and "://" not in u)]
    if local:
        steps.append(f"the registry is on this machine ({', '.join(local)}): fine for a one-machine Ray; "
                     "replicas on other nodes need a registry they can reach (PostgreSQL and an object store: "
                     "registry_url and artifacts_url in podium.yaml)")
    config = {
        "proxy_location": "EveryNode",
        "http_options": {"host": "0.0.0.0", "port": port},
        "applications": [{
            "name": app,
            "route_prefix": "/",
            "import_path": RAY_SERVE_IMPORT_PATH,
            "args": {"serve": serve_options,
                     "scaling": scaling.model_dump(mode="json", exclude={"app_name"}, exclude_none=True)},
        }],
    }
    header = (f"# {name}@… on Ray Serve (version {version} now; the replicas follow {ref}).\n"
              "# Every Ray node needs podium installed (pip install 'podium[ray]', the same version).\n"
              "# args.serve: what `podium serve` takes (ServeOptions); args.scaling: replicas and autoscaling.\n")
    path = out / "serve_config.yaml"
    path.write_text(header + yaml.dump(config, Dumper=_PlainDumper, sort_keys=False))
    readme = out / "README.md"
    readme.write_text(_ray_readme(name, ref, app, port))
    steps = [f"run here:   serve run {path}   (starts a local Ray instance; Ctrl-C stops it)",
             f"on a cluster: serve deploy {path} --address http://HEAD:8265   (then: serve status)", *steps]
    return DeployResult(out, [path, readme], steps)


def _ray_readme(name: str, ref: str, app: str, port: int) -> str:
    return textwrap.dedent(f"""\
        # {ref}, served by podium on Ray Serve

        `serve_config.yaml` is a Ray Serve config: one application, `{app}`, whose replicas run
        podium's web service (the same routes, API keys, metrics and OpenAPI document as
        `podium serve`) and follow `{ref}` when it is promoted.

            serve run serve_config.yaml                                 # a local Ray instance
            serve deploy serve_config.yaml --address http://HEAD:8265   # a running cluster
            serve status
            curl -H "Authorization: Bearer $MY_KEY" localhost:{port}/v1/models/{name}/predict -d @record.json

        - Every node needs podium installed (`pip install 'podium[ray]'`, the version that wrote this).
        - Keys are the registry's (`podium keys create`); replicas check them there.
        - `args.scaling` sets the replicas: `min_replicas`, `max_replicas`, `target_ongoing_requests`,
          `upscale_delay_s`, `downscale_delay_s`, `replica_cpus`. `podium serve {ref} --engine ray`
          runs the same application without this file.
        - Metrics: `/metrics` adds up the replicas of the node that answers.
        """)


def _namespace(name: str) -> dict[str, Any]:
    """The namespace, refusing pods below the "restricted" Pod Security level."""
    levels = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")}
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {**levels, "app.kubernetes.io/part-of": "podium"}}}


_TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"

#: an image reference pinned by content: NAME@sha256:64 hex digits
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def _hashed_keys(path: Path) -> str:
    """A keys file's lines with each plain key replaced by its ``sha256:HEX`` (rights kept):
    what the Secret holds, so no key is written in the clear."""
    from podium.serving.auth import hash_key, parse_key_file

    try:
        text = path.read_text()
    except OSError as exc:
        raise SpecError(f"--keys-file {path} cannot be read: {exc.strerror or exc}.",
                        hint="podium keys create --name NAME > NAME.key makes one") from None
    if not parse_key_file(text, source=f"--keys-file {path}"):
        raise SpecError(f"--keys-file {path} holds no key.",
                        hint="podium keys create --name NAME > NAME.key makes one")
    lines = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        secret, *rights = line.split()
        digest = secret.lower() if secret.lower().startswith("sha256:") else hash_key(secret)
        lines.append(" ".join([digest, *rights]))
    return "\n".join(lines) + "\n"


class _PlainDumper(yaml.SafeDumper):
    """Writes shared objects (the labels) out in full: no &anchors and *aliases in manifests."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def default_image(name: str, version: int) -> str:
    return f"podium-{re.sub(r'[^a-z0-9._-]+', '-', name.lower())}:{version}"


def engine_of(package: Any) -> str:
    """The engine a package scores with: its manifest's ``engine.name``; "sklearn" when it names none."""
    engine = (getattr(package, "manifest", None) or {}).get("engine") or {}
    name = str(engine.get("name") or "sklearn") if isinstance(engine, dict) else str(engine)
    if name not in _ENGINE_PACKAGES:
        raise SpecError(f"The package's engine '{name}' is not one deploy knows "
                        f"({', '.join(_ENGINE_PACKAGES)}).", hint="upgrade podium")
    return name


def model_libraries(model: Any) -> set[str]:
    """The distributions whose code a fitted model refers to (what unpickling it imports),
    e.g. {"scikit-learn", "numpy", "lightgbm"}; podium itself excluded."""
    modules: set[str] = set()

    class Recorder(pickle.Pickler):
        def reducer_override(self, obj: Any) -> Any:
            for owner in (obj, type(obj)):
                module = getattr(owner, "__module__", None)
                if isinstance(module, str):
                    modules.add(module.split(".", 1)[0])
            return NotImplemented

    Recorder(_Discard(), protocol=pickle.HIGHEST_PROTOCOL).dump(model)
    by_module = metadata.packages_distributions()
    return {_canonical(d) for m in modules for d in by_module.get(m, ())} - {"podium"}


class _Discard(io.RawIOBase):
    """A sink: pickling only to see what the model refers to."""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return memoryview(data).nbytes  # protocol 5 hands over PickleBuffers, which have no len()


def pinned_requirements(*, engine: str = "sklearn", libraries: Iterable[str] = ()) -> list[str]:
    """``name==version`` of everything a service on ``engine`` needs, as installed here,
    dependencies of dependencies included — and nothing else: ``libraries`` are the model's
    own (``model_libraries``); GPU runtimes are left out and XGBoost is its CPU-only wheel.
    podium itself is excluded (the image installs it from its source)."""
    roots = [_canonical(n) for n in (*_SERVE_PACKAGES, *_ENGINE_PACKAGES[engine], *libraries)]
    seen: dict[str, str] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen or name == "podium" or name.startswith("nvidia-"):  # GPU runtimes: not for serving
            continue
        try:
            seen[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        todo += [_name_of(r) for r in metadata.requires(name) or [] if _applies(r)]
    return [f"{_CPU_VARIANTS.get(name, name)}=={v}" for name, v in sorted(seen.items())]


def requirements_lines(requirements: list[str]) -> str:
    """The lines of requirements.txt: a PyTorch CPU build (``torch==X+cpu``) is on PyTorch's own
    index, not on PyPI, so the file names that index too."""
    index = [f"--extra-index-url {_TORCH_CPU_INDEX}"] if any("+cpu" in r for r in requirements) else []
    return "\n".join([*index, *requirements]) + "\n"


def _name_of(requirement: str) -> str:
    from packaging.requirements import Requirement

    return _canonical(Requirement(requirement).name)


def _applies(requirement: str) -> bool:
    """Whether a dependency applies here (Linux, this Python), no extras asked for."""
    from packaging.requirements import Requirement

    marker = Requirement(requirement).marker
    return marker is None or marker.evaluate({"extra": ""})


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _fresh_dir(out_dir: str | Path) -> Path:
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise SpecError(f"{out} is not empty; deploy writes into a new or empty folder.",
                        hint="choose another --out, or remove the folder first")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _copy_model(package: Any, name: str, version: int, ref: str, project: Path) -> str:
    """Register the package in a fresh project's registry; returns the ref the image serves."""
    from podium.registry import Registry

    alias = ref.split("@", 1)[1] if "@" in ref else "champion"
    package.lineage = {**(package.lineage or {}), "deployed_from": {"ref": ref, "version": version}}
    project.mkdir(parents=True, exist_ok=True)
    database = project / ".podium" / "registry.db"
    target = Registry(f"sqlite:///{database.resolve()}", str((project / ".podium" / "artifacts").resolve()))
    try:
        target.register(name, package, alias=alias)
    finally:
        target.close()
    # a rollback journal instead of WAL, and no leftover -wal/-shm: the image opens it read-only
    with sqlite3.connect(database) as conn:
        conn.execute("PRAGMA journal_mode=DELETE")
    for leftover in (project / ".podium").glob("registry.db-*"):
        leftover.unlink()
    (project / "podium.yaml").write_text(
        "# the image's own project: one model version, served from a read-only registry\n"
        + yaml.safe_dump({"registry_url": REGISTRY_URL, "artifacts_url": f"{APP_DIR}/.podium/artifacts"},
                         sort_keys=False))
    return f"{name}@{alias}"


def preload(ref: str, project: str | Path = APP_DIR) -> None:
    """Make a serving worker's app for ``ref`` from ``project``, and let it go (the image's build
    step, in a process of its own): it fails when the model, or anything a worker imports,
    cannot load here."""
    import importlib

    from podium.config import load_settings
    from podium.serving.options import ServeOptions
    from podium.serving.workers import OPTIONS_ENV, worker_app

    for module in _WORKER_MODULES:
        importlib.import_module(module)
    settings = load_settings(project)
    os.environ[OPTIONS_ENV] = ServeOptions(
        refs=[ref], registry_url=settings.resolved_registry_url, artifacts_url=settings.resolved_artifacts_url,
        access_log=None, prediction_log_rate=0, reload_interval=0).model_dump_json()
    worker_app()


#: what uvicorn's workers import beyond the app (the loop, the HTTP parser, the supervisor)
_WORKER_MODULES = ("podium.serving.workers", "uvicorn.loops.uvloop", "uvicorn.protocols.http.httptools_impl",
                   "uvicorn.lifespan.on", "podium.serving.supervisor", "prometheus_client.multiprocess")


def _world_readable(root: Path) -> None:
    """Files readable and folders enterable by anyone: the image runs under any UID."""
    for path in [root, *root.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode | (0o755 if path.is_dir() else 0o644))


def _copy_podium(target: Path) -> None:
    """podium's source and a minimal pyproject, so the image pip-installs the same podium
    (without dependencies: requirements.txt holds them, pinned)."""
    import podium

    source = Path(podium.__file__).resolve().parent
    shutil.copytree(source, target / "src" / "podium",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    (target / "pyproject.toml").write_text(textwrap.dedent(f"""\
        [build-system]
        requires = ["setuptools>=69"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "podium"
        version = "{podium.__version__}"
        requires-python = ">=3.11"

        [project.scripts]
        podium = "podium.cli.main:main"

        [tool.setuptools.packages.find]
        where = ["src"]

        [tool.setuptools.package-data]
        "*" = ["*"]
        """))


_DOCKERIGNORE = """\
# API keys and other secrets are mounted when the container runs, never built into the image
keys
keys.*
*keys*.txt
podium-keys*
secrets/
**/*.key
**/*.pem
**/.env
**/__pycache__
**/*.pyc
**/*.db-wal
**/*.db-shm
"""


def _dockerfile(serve_ref: str, *, engine: str, port: int, workers: int, libgomp: bool) -> str:
    command = ["podium", "--project", APP_DIR, "serve", serve_ref, "--host", "0.0.0.0", "--port", str(port),
               "--workers", str(workers)]
    entry = ", ".join(f'"{part}"' for part in command)
    probe = (f"import sys, urllib.request; sys.exit(urllib.request.urlopen("
             f"'http://127.0.0.1:{port}/healthz', timeout=2).status != 200)")
    openmp = textwrap.dedent("""\
        # LightGBM links the system's OpenMP runtime, which the slim image lacks
        # hadolint ignore=DL3008
        RUN apt-get update \\
            && apt-get install -y --no-install-recommends libgomp1 \\
            && apt-get clean && rm -rf /var/lib/apt/lists/*

        """) if libgomp else ""
    return textwrap.dedent(f"""\
        # podium model service: {serve_ref} (engine: {engine})
        FROM {BASE_IMAGE}

        ENV PYTHONDONTWRITEBYTECODE=1 \\
            PYTHONUNBUFFERED=1 \\
            PIP_NO_CACHE_DIR=1 \\
            PIP_DISABLE_PIP_VERSION_CHECK=1 \\
            OMP_NUM_THREADS=1 \\
            ORT_DISABLE_TELEMETRY=1 \\
            PODIUM_KEYS_FILE={KEYS_FILE} \\
            PODIUM_PREDICTION_LOG=off

        """) + openmp + textwrap.dedent(f"""\
        RUN useradd --no-create-home --home-dir /nonexistent --uid {USER_ID} --shell /usr/sbin/nologin podium

        # exactly the pinned list: the engine's libraries, no training stack, no GPU wheels; not
        # byte-compiled (a quarter more), without the libraries' test suites, type stubs and
        # Cython sources: nothing that runs is left out
        COPY requirements.txt /tmp/requirements.txt
        RUN pip install --no-cache-dir --no-compile --no-deps -r /tmp/requirements.txt \\
            && rm /tmp/requirements.txt \\
            && find /usr/local/lib -depth -type d -name tests -path "*-packages/*" -exec rm -rf {{}} + \\
            && find /usr/local/lib -type f -path "*-packages/*" \\( -name "*.pyi" -o -name "*.pyx" -o -name "*.pxd" \\) -delete

        COPY podium/ /tmp/podium-src/
        RUN pip install --no-cache-dir --no-compile --no-deps /tmp/podium-src && rm -rf /tmp/podium-src

        # owned by root, readable by all: any UID serves it, none can change it
        COPY project/ {APP_DIR}/

        # load the model as a worker does: one that cannot load fails the build, not the container
        RUN podium --help > /dev/null \\
            && python -c "from podium.serving.deploy import preload; preload('{serve_ref}')"

        USER {USER_ID}
        WORKDIR {APP_DIR}
        EXPOSE {port}
        HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \\
            CMD ["python", "-c", "{probe}"]
        STOPSIGNAL SIGTERM
        ENTRYPOINT [{entry}]
        """)


def _readme(name: str, version: int, engine: str, image: str, port: int, run: str) -> str:
    return textwrap.dedent(f"""\
        # {name} version {version}, served by podium (engine: {engine})

        Build, then run with your API keys mounted as a file (one key a line, plain or
        `sha256:HEX`, then optionally its rights: `models=a,b uploads=sales admin`; a bare key
        may predict with every model; `podium keys create --name NAME` prints one). Keep the key file outside this
        folder: `.dockerignore` leaves key files out, and nothing here holds a key.

            docker build -t {image} .
            {run}
            curl -H "Authorization: Bearer $MY_KEY" localhost:{port}/v1/models/{name}/predict -d @record.json

        - Keys: the service reads the file named by `PODIUM_KEYS_FILE` (default `{KEYS_FILE}`);
          with Docker secrets, `-e PODIUM_KEYS_FILE=/run/secrets/podium-keys`. Without the file it
          stops at once and says so.
        - Read-only and any user: the image writes nothing outside `/tmp` (`--read-only --tmpfs /tmp`)
          and runs under any UID (`--user 12345`).
        - Prediction log: off. To keep one, name a database: a mounted volume
          (`-v podium-log:/var/lib/podium -e PODIUM_PREDICTION_LOG=sqlite:////var/lib/podium/predictions.db`,
          writable by the container's user) or a remote one (`-e PODIUM_PREDICTION_LOG=postgresql://…`).

        Swagger UI: http://localhost:{port}/docs (served by the image itself) · health: /healthz ·
        readiness: /readyz · metrics: /metrics
        """)


def _manifests(app: str, name: str, version: int, *, image: str, replicas: int, port: int,
               keys: str, prediction_log_secret: str | None) -> dict[str, dict[str, Any]]:
    labels = {"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": "podium",
              "podium/model": name, "podium/version": str(version)}
    selector = {"app.kubernetes.io/name": app}
    secret = f"{app}-keys"
    secret_text = f"# API keys accepted by {app}, one a line: sha256:HEX, then optional rights\n{keys}"
    probe = {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10, "timeoutSeconds": 3,
             "failureThreshold": 3}
    prediction_log: dict[str, Any] = {"name": "PODIUM_PREDICTION_LOG", "value": "off"}
    if prediction_log_secret:
        prediction_log = {"name": "PODIUM_PREDICTION_LOG",
                          "valueFrom": {"secretKeyRef": {"name": prediction_log_secret, "key": "url"}}}
    spread = [{"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway",
               "labelSelector": {"matchLabels": selector}, "matchLabelKeys": ["pod-template-hash"]}
              for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")]
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": app, "labels": labels},
        # no replicas: the HorizontalPodAutoscaler owns the count, and one here would reset it on every apply
        "spec": {
            "selector": {"matchLabels": selector},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": labels, "annotations": {
                    "prometheus.io/scrape": "true", "prometheus.io/port": str(port),
                    "prometheus.io/path": "/metrics",
                    # a changed Secret changes the template, so applying it rolls the pods
                    "checksum/api-keys": hashlib.sha256(secret_text.encode()).hexdigest()}},
                "spec": {
                    "terminationGracePeriodSeconds": 30,
                    "automountServiceAccountToken": False,  # the service never calls the Kubernetes API
                    "securityContext": {"runAsNonRoot": True, "runAsUser": USER_ID, "runAsGroup": USER_ID,
                                        "fsGroup": USER_ID, "seccompProfile": {"type": "RuntimeDefault"}},
                    "topologySpreadConstraints": spread,
                    "containers": [{
                        "name": "model",
                        "image": image,
                        # pinned by digest: what is cached is what was asked for
                        "imagePullPolicy": "IfNotPresent",
                        "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}],
                        "env": [{"name": "OMP_NUM_THREADS", "value": "1"},
                                {"name": "ORT_DISABLE_TELEMETRY", "value": "1"},
                                {"name": "PODIUM_KEYS_FILE", "value": KEYS_FILE},
                                prediction_log],
                        "resources": {"requests": {"cpu": "500m", "memory": "512Mi"},
                                      "limits": {"cpu": "2", "memory": "1Gi"}},
                        "readinessProbe": {**probe, "httpGet": {"path": "/readyz", "port": "http"},
                                           "periodSeconds": 5},
                        "livenessProbe": probe,
                        "startupProbe": {**probe, "periodSeconds": 2, "failureThreshold": 60},
                        # let the endpoints drop this pod before it stops taking connections
                        "lifecycle": {"preStop": {"exec": {"command": ["sleep", "5"]}}},
                        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                            "runAsNonRoot": True, "privileged": False,
                                            "seccompProfile": {"type": "RuntimeDefault"},
                                            "capabilities": {"drop": ["ALL"]}},
                        # the Secret as a file (re-read when it changes: no subPath), and a scratch /tmp
                        "volumeMounts": [{"name": "api-keys", "mountPath": KEYS_DIR, "readOnly": True},
                                         {"name": "tmp", "mountPath": "/tmp"}],
                    }],
                    "volumes": [{"name": "api-keys", "secret": {"secretName": secret,
                                                                 "items": [{"key": "keys", "path": "keys"}]}},
                                {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}}],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": app, "labels": labels},
        "spec": {"type": "ClusterIP", "selector": selector,
                 "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]},
    }
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": app, "labels": labels},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": app},
            "minReplicas": replicas,
            "maxReplicas": max(10, replicas * 5),
            "metrics": [{"type": "Resource", "resource": {
                "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}],
        },
    }
    budget = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": app, "labels": labels},
        # a node drain takes one pod at a time: the others keep serving
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector}},
    }
    network = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": app, "labels": labels},
        # in: the service port only, from anywhere in the cluster (narrow "from" to your clients)
        "spec": {"podSelector": {"matchLabels": selector}, "policyTypes": ["Ingress"],
                 "ingress": [{"ports": [{"port": port, "protocol": "TCP"}]}]},
    }
    secret_doc = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": secret, "labels": labels},
        "type": "Opaque",
        "stringData": {"keys": secret_text},
    }
    return {"deployment": deployment, "service": service, "hpa": hpa, "pdb": budget,
            "networkpolicy": network, "secret": secret_doc}
