"""Deploy targets: a Docker build context, or Kubernetes manifests, that serve one model version.

The image holds a podium project of its own: the model version copied into a fresh local
registry (SQLite + artifacts), served by the same ``podium serve`` as on a laptop, as a
non-root user, with pinned requirements and a HEALTHCHECK on ``/healthz``. API keys come
from a file mounted at ``/etc/podium/keys`` (one a line, plain or ``sha256:HEX``) — a
Kubernetes Secret, or a Docker volume — so that no key is baked into the image.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import shutil
import textwrap
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from podium.errors import SpecError

__all__ = ["DeployResult", "write_docker", "write_kubernetes", "pinned_requirements"]

APP_DIR = "/srv/podium"
KEYS_PATH = "/etc/podium/keys"
BASE_IMAGE = "python:3.11-slim"
USER_ID = 10001

#: what a service needs beyond podium's own dependencies
_SERVE_PACKAGES = ("fastapi", "starlette", "uvicorn", "uvloop", "httptools", "prometheus-client", "orjson",
                   "threadpoolctl", "scipy")
_ONNX_PACKAGES = ("onnxruntime", "skl2onnx", "onnx", "protobuf")


@dataclass
class DeployResult:
    """What a deploy target wrote, and what to do next."""

    out_dir: Path
    files: list[Path] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)


def write_docker(registry: Any, ref: str, out_dir: str | Path, *, port: int = 8000, workers: int = 2,
                 onnx: bool = True) -> DeployResult:
    """Write a Docker build context serving ``ref`` into ``out_dir`` (new or empty)."""
    out = _fresh_dir(out_dir)
    info = registry.resolve(ref)
    name, version = str(info.name), int(info.version)
    package = registry.load(f"{name}:{version}")
    serve_ref = _copy_model(package, name, version, ref, out / "project")
    _copy_podium(out / "podium")
    (out / "requirements.txt").write_text(
        "# pinned to what served this model where it was deployed from\n"
        + "\n".join(pinned_requirements(onnx=onnx)) + "\n")
    (out / "keys").write_text("# API keys, one a line (plain or sha256:HEX). Mount a real file here:\n"
                              f"#   docker run -v $PWD/keys:{KEYS_PATH}:ro ...\n")
    (out / ".dockerignore").write_text("**/__pycache__\n**/*.pyc\n")
    (out / "Dockerfile").write_text(_dockerfile(serve_ref, port=port, workers=workers))
    image = default_image(name, version)
    (out / "README.md").write_text(textwrap.dedent(f"""\
        # {name} version {version}, served by podium

            docker build -t {image} .
            echo "$MY_KEY" > keys          # one API key a line (or sha256:HEX of it)
            docker run -p {port}:{port} -v "$PWD/keys:{KEYS_PATH}:ro" {image}
            curl -H "Authorization: Bearer $MY_KEY" localhost:{port}/v1/models/{name}/predict -d @record.json

        Swagger UI: http://localhost:{port}/docs · health: /healthz · readiness: /readyz · metrics: /metrics
        """))
    files = sorted(p for p in out.rglob("*") if p.is_file() and "podium/src" not in p.as_posix()
                   and "/.podium/" not in p.as_posix())
    return DeployResult(out, files, [f"build: docker build -t {image} {out}",
                                     f"run:   docker run -p {port}:{port} -v $PWD/keys:{KEYS_PATH}:ro {image}"])


def write_kubernetes(registry: Any, ref: str, out_dir: str | Path, *, replicas: int = 2,
                     image: str | None = None, port: int = 8000, workers: int = 2) -> DeployResult:
    """Write Deployment, Service, HorizontalPodAutoscaler and Secret manifests (and the image's context)."""
    if replicas < 2:
        raise SpecError(f"--replicas {replicas}: a service needs at least 2 replicas to stay up "
                        "while one restarts.", hint="use --replicas 2 or more")
    out = _fresh_dir(out_dir)
    info = registry.resolve(ref)
    name, version = str(info.name), int(info.version)
    image = image or default_image(name, version)
    built = write_docker(registry, ref, out / "image", port=port, workers=workers)
    app = re.sub(r"[^a-z0-9-]+", "-", f"podium-{name}".lower()).strip("-")[:63]
    key = "pdm_" + secrets.token_urlsafe(32)
    manifests = _manifests(app, name, version, image=image, replicas=replicas, port=port,
                           key_digest="sha256:" + hashlib.sha256(key.encode()).hexdigest())
    files = []
    for kind, document in manifests.items():
        path = out / f"{kind}.yaml"
        path.write_text(yaml.dump(document, Dumper=_PlainDumper, sort_keys=False))
        files.append(path)
    kustomization = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                     "resources": [p.name for p in files]}
    (out / "kustomization.yaml").write_text(yaml.safe_dump(kustomization, sort_keys=False))
    files.append(out / "kustomization.yaml")
    return DeployResult(out, files + built.files, [
        f"build and push the image: docker build -t {image} {out / 'image'} && docker push {image}",
        f"apply: kubectl apply -k {out}",
        f"the API key in secret.yaml (shown once, keep it safe; only its hash is stored): {key}",
    ])


class _PlainDumper(yaml.SafeDumper):
    """Writes shared objects (the labels) out in full: no &anchors and *aliases in manifests."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def default_image(name: str, version: int) -> str:
    return f"podium-{re.sub(r'[^a-z0-9._-]+', '-', name.lower())}:{version}"


def pinned_requirements(*, onnx: bool = True) -> list[str]:
    """``name==version`` of everything podium's service needs, as installed here, dependencies
    of dependencies included (podium itself excluded: the image installs it from its source)."""
    roots = [_canonical(n) for n in _SERVE_PACKAGES + (_ONNX_PACKAGES if onnx else ())]
    try:
        roots += [_name_of(r) for r in metadata.requires("podium") or [] if _applies(r, ())]
    except metadata.PackageNotFoundError:
        pass
    extras = {"uvicorn": ("standard",)}
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
        wanted = extras.get(name, ())
        todo += [_name_of(r) for r in metadata.requires(name) or [] if _applies(r, wanted)]
    return [f"{name}[standard]=={v}" if name == "uvicorn" else f"{name}=={v}" for name, v in sorted(seen.items())]


def _name_of(requirement: str) -> str:
    from packaging.requirements import Requirement

    return _canonical(Requirement(requirement).name)


def _applies(requirement: str, extras: tuple[str, ...]) -> bool:
    """Whether a dependency applies here (Linux, this Python) with these extras asked for."""
    from packaging.requirements import Requirement

    marker = Requirement(requirement).marker
    if marker is None:
        return True
    return any(marker.evaluate({"extra": extra}) for extra in (*extras, ""))


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
    (project / "podium.yaml").write_text("# the image's own project: one model version, served read-only\n")
    target = Registry(f"sqlite:///{(project / '.podium' / 'registry.db').resolve()}",
                      str((project / ".podium" / "artifacts").resolve()))
    try:
        target.register(name, package, alias=alias)
    finally:
        target.close()
    for leftover in (project / ".podium").glob("registry.db-*"):  # WAL files: the image starts clean
        leftover.unlink()
    # the URLs above are this machine's paths: the image finds its registry in the project folder
    return f"{name}@{alias}"


def _copy_podium(target: Path) -> None:
    """podium's source and a minimal pyproject, so the image pip-installs the same podium."""
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


def _dockerfile(serve_ref: str, *, port: int, workers: int) -> str:
    command = ["podium", "--project", APP_DIR, "serve", serve_ref, "--host", "0.0.0.0", "--port", str(port),
               "--workers", str(workers), "--keys-file", KEYS_PATH]
    entry = ", ".join(f'"{part}"' for part in command)
    probe = (f"import sys, urllib.request; sys.exit(urllib.request.urlopen("
             f"'http://127.0.0.1:{port}/healthz', timeout=2).status != 200)")
    return textwrap.dedent(f"""\
        # podium model service: {serve_ref}
        FROM {BASE_IMAGE}

        ENV PYTHONDONTWRITEBYTECODE=1 \\
            PYTHONUNBUFFERED=1 \\
            PIP_NO_CACHE_DIR=1 \\
            PIP_DISABLE_PIP_VERSION_CHECK=1 \\
            OMP_NUM_THREADS=1

        RUN useradd --create-home --uid {USER_ID} --shell /usr/sbin/nologin podium

        COPY requirements.txt /tmp/requirements.txt
        RUN pip install --no-cache-dir -r /tmp/requirements.txt

        COPY podium/ /tmp/podium-src/
        RUN pip install --no-cache-dir --no-deps /tmp/podium-src && rm -rf /tmp/podium-src

        COPY --chown={USER_ID}:{USER_ID} project/ {APP_DIR}/
        COPY --chown={USER_ID}:{USER_ID} keys {KEYS_PATH}

        USER {USER_ID}
        WORKDIR {APP_DIR}
        EXPOSE {port}
        HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \\
            CMD ["python", "-c", "{probe}"]
        STOPSIGNAL SIGTERM
        ENTRYPOINT [{entry}]
        """)


def _manifests(app: str, name: str, version: int, *, image: str, replicas: int, port: int,
               key_digest: str) -> dict[str, dict[str, Any]]:
    labels = {"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": "podium",
              "podium/model": name, "podium/version": str(version)}
    selector = {"app.kubernetes.io/name": app}
    secret = f"{app}-keys"
    probe = {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10, "timeoutSeconds": 3,
             "failureThreshold": 3}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": app, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": selector},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": labels, "annotations": {"prometheus.io/scrape": "true",
                                                               "prometheus.io/port": str(port),
                                                               "prometheus.io/path": "/metrics"}},
                "spec": {
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": USER_ID, "fsGroup": USER_ID},
                    "containers": [{
                        "name": "model",
                        "image": image,
                        "imagePullPolicy": "IfNotPresent",
                        "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}],
                        "env": [{"name": "OMP_NUM_THREADS", "value": "1"}],
                        "resources": {"requests": {"cpu": "500m", "memory": "512Mi"},
                                      "limits": {"cpu": "2", "memory": "1Gi"}},
                        "readinessProbe": {**probe, "httpGet": {"path": "/readyz", "port": "http"},
                                           "periodSeconds": 5},
                        "livenessProbe": probe,
                        "startupProbe": {**probe, "periodSeconds": 2, "failureThreshold": 60},
                        # let the endpoints drop this pod before it stops taking connections
                        "lifecycle": {"preStop": {"exec": {"command": ["sleep", "5"]}}},
                        "securityContext": {"allowPrivilegeEscalation": False,
                                            "capabilities": {"drop": ["ALL"]}},
                        "volumeMounts": [{"name": "api-keys", "mountPath": "/etc/podium", "readOnly": True}],
                    }],
                    "volumes": [{"name": "api-keys", "secret": {"secretName": secret,
                                                                 "items": [{"key": "keys", "path": "keys"}]}}],
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
    secret_doc = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": secret, "labels": labels},
        "type": "Opaque",
        "stringData": {"keys": f"# API keys accepted by {app}, one a line (plain or sha256:HEX)\n{key_digest}\n"},
    }
    return {"deployment": deployment, "service": service, "hpa": hpa, "secret": secret_doc}
