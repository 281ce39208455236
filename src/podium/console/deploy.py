"""Deploying from the console: the Docker context or the Kubernetes manifests of a model
version (what ``podium deploy`` writes), as one zip file."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path
from typing import BinaryIO

from podium.errors import SpecError
from podium.registry import Registry

__all__ = ["deploy_zip", "TARGETS"]

TARGETS = ("docker", "kubernetes")


def deploy_zip(registry: Registry, ref: str, target: str, out: BinaryIO) -> str:
    """Write the ``target`` artefacts of ``ref`` as a zip into ``out``; returns the folder name
    the zip holds (``churn-3-docker``)."""
    from podium.serving.deploy import write_docker, write_kubernetes

    if target not in TARGETS:
        raise SpecError(f"target '{target}' is not one of {', '.join(TARGETS)}.")
    info = registry.resolve(ref)
    folder = f"{info.name}-{info.version}-{target}"
    with tempfile.TemporaryDirectory(prefix="podium-deploy-") as tmp:
        root = Path(tmp) / folder
        pinned = f"{info.name}:{info.version}"
        if target == "docker":
            write_docker(registry, pinned, root)
        else:
            write_kubernetes(registry, pinned, root)
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(root.parent).as_posix())
    return folder
