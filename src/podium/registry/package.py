"""The model package: a fitted pipeline with everything needed to serve it, in one folder.

::

    <package>/
        model.joblib    the fitted pipeline (joblib)
        package.json    the manifest: format, schemas, metrics, leaderboard, lineage,
                        environment, and the sha256 of every other file — written last

``ModelPackage.load`` reads the manifest, checks every file's sha256 and only then unpickles
the exact bytes it checked. The service, batch scoring and any export are built from a
package alone.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from typing import Any

import joblib
import numpy as np
import pandas as pd
from fsspec import AbstractFileSystem
from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem

from podium._internal.redact import redact
from podium.errors import IntegrityError, NotFoundError, PodiumError
from podium.registry._json import dumps, to_jsonable
from podium.registry.artifacts import MANIFEST
from podium.registry.schema import InputSchema, OutputSchema

__all__ = ["ModelPackage", "MODEL_FILE", "MANIFEST", "FORMAT", "FORMAT_VERSION", "library_versions"]

FORMAT = "podium.model-package"
FORMAT_VERSION = 1
MODEL_FILE = "model.joblib"

_LIBRARIES = ("podium", "scikit-learn", "pandas", "numpy", "joblib", "lightgbm", "xgboost")


@dataclass
class ModelPackage:
    """A fitted pipeline (anything picklable with ``predict``) and its self-description."""

    pipeline: Any
    input_schema: InputSchema
    output_schema: OutputSchema
    metric: str
    metrics: dict[str, float] = field(default_factory=dict)
    leaderboard: list[dict[str, Any]] = field(default_factory=list)
    lineage: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: sha256 of model.joblib, set by ``save`` and ``load``
    checksum: str | None = field(default=None, compare=False)
    #: the manifest as written or read, set by ``save`` and ``load``
    manifest: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def task(self) -> str:
        return self.output_schema.task

    @property
    def score(self) -> float | None:
        """The holdout value of the package's metric."""
        value = self.metrics.get(self.metric)
        return None if value is None else float(value)

    @property
    def classes(self) -> list[Any]:
        """The class labels in the order of the pipeline's probabilities ([] for regression)."""
        if self.task == "regression":
            return []
        fitted = getattr(self.pipeline, "classes_", None)
        found = fitted if fitted is not None else (self.output_schema.classes or [])
        return [v.item() if isinstance(v, np.generic) else v for v in found]

    # -- writing and reading ------------------------------------------------------------------
    def save(self, fs: AbstractFileSystem | None, path: str | os.PathLike[str]) -> dict[str, Any]:
        """Write the package folder at ``path`` on ``fs`` (None: the local disk); returns the manifest.

        The manifest is written last, so a folder without one is incomplete.
        """
        fs = fs or LocalFileSystem()
        root = str(path).rstrip("/")
        fs.makedirs(root, exist_ok=True)
        target = f"{root}/{MODEL_FILE}"
        if isinstance(fs, LocalFileSystem):
            joblib.dump(self.pipeline, target)
            digest, size = _file_digest(fs, target)
        else:
            with tempfile.TemporaryDirectory(prefix="podium-package-") as tmp:
                local = os.path.join(tmp, MODEL_FILE)
                joblib.dump(self.pipeline, local)
                fs.put_file(local, target)
            digest, size = _file_digest(fs, target)
        manifest = self._manifest({MODEL_FILE: {"sha256": digest, "bytes": size}})
        with fs.open(f"{root}/{MANIFEST}", "w", encoding="utf-8") as f:
            f.write(dumps(manifest, indent=2))
        self.checksum, self.manifest = digest, manifest
        return manifest

    def _manifest(self, files: dict[str, dict[str, Any]]) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": datetime.now(timezone.utc).isoformat(),
            "files": files,
            "estimator": _estimator_name(self.pipeline),
            "metric": self.metric,
            "metrics": to_jsonable(self.metrics),
            "input_schema": self.input_schema.model_dump(mode="json"),
            "output_schema": self.output_schema.model_dump(mode="json"),
            "lineage": to_jsonable(redact(self.lineage)),  # no literal secret is written
            "environment": library_versions(),
            "leaderboard": to_jsonable(self.leaderboard),
            "notes": list(self.notes),
        }

    @classmethod
    def load(cls, path_or_url: str | os.PathLike[str], *, fs: AbstractFileSystem | None = None,
             manifest_sha256: str | None = None) -> ModelPackage:
        """Read a package folder, verifying every checksum before anything is unpickled.

        ``manifest_sha256`` (what the registry recorded) also pins the manifest itself.
        """
        if fs is None:
            fs, root = url_to_fs(str(path_or_url))
        else:
            root = str(path_or_url)
        root = root.rstrip("/")
        where = str(path_or_url)
        manifest_path = f"{root}/{MANIFEST}"
        if not fs.exists(manifest_path):
            if not fs.exists(root):
                raise NotFoundError(f"no model package at {where}.",
                                    hint="check the path, or list registered models: podium models list")
            raise IntegrityError(f"model package at {where} has no {MANIFEST}: it was not completely "
                                 "written or was modified; re-register the model.")
        raw = fs.cat_file(manifest_path)
        if manifest_sha256 is not None:
            _verify(where, MANIFEST, manifest_sha256, hashlib.sha256(raw).hexdigest())
        try:
            manifest = json.loads(raw)
            files: dict[str, Any] = manifest["files"]
        except (ValueError, KeyError, TypeError):
            raise IntegrityError(f"model package at {where} has an unreadable {MANIFEST}: it was "
                                 "modified or corrupted; re-register the model.") from None
        if manifest.get("format") != FORMAT or int(manifest.get("format_version", 0)) > FORMAT_VERSION:
            raise PodiumError(f"model package at {where} has format {manifest.get('format')!r} "
                              f"version {manifest.get('format_version')!r}, which this podium cannot read.",
                              hint="upgrade podium to the version that wrote it")
        blobs: dict[str, bytes] = {}
        for name, entry in files.items():
            file_path = f"{root}/{name}"
            if not fs.exists(file_path):
                raise IntegrityError(f"model package at {where} lacks {name}: it was modified or "
                                     "corrupted; re-register the model.")
            data = fs.cat_file(file_path)
            _verify(where, name, str(entry.get("sha256")), hashlib.sha256(data).hexdigest())
            blobs[name] = data
        if MODEL_FILE not in blobs:
            raise IntegrityError(f"model package at {where} lists no {MODEL_FILE}; re-register the model.")
        try:
            pipeline = joblib.load(io.BytesIO(blobs[MODEL_FILE]))
        except (ImportError, AttributeError) as exc:
            versions = ", ".join(f"{k} {v}" for k, v in manifest.get("environment", {}).items())
            raise PodiumError(f"model package at {where} cannot be unpickled here: {exc}.",
                              hint=f"install the libraries it was trained with ({versions})") from exc
        return cls(
            pipeline=pipeline,
            input_schema=InputSchema.model_validate(manifest["input_schema"]),
            output_schema=OutputSchema.model_validate(manifest["output_schema"]),
            metric=manifest.get("metric", ""),
            metrics=manifest.get("metrics") or {},
            leaderboard=manifest.get("leaderboard") or [],
            lineage=manifest.get("lineage") or {},
            notes=manifest.get("notes") or [],
            checksum=files[MODEL_FILE]["sha256"],
            manifest=manifest,
        )

    # -- using it -----------------------------------------------------------------------------
    def predict_frame(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
        """Score ``frame``: its rows plus ``prediction`` and, for classifiers, ``proba_<class>``.

        Raises ``SchemaError`` when a column is missing or a value cannot take its type.
        """
        features, notes = self.input_schema.conform(frame)
        result = frame.copy()
        if len(features) == 0:
            result["prediction"] = pd.Series(dtype=object)
            return result, notes
        clashes = [c for c in result.columns if str(c) == "prediction" or str(c).startswith("proba_")]
        if clashes:
            result = result.drop(columns=clashes)
            notes.append(f"replaced input columns: {', '.join(map(str, clashes))}")
        predictions = np.asarray(self.pipeline.predict(features))
        if self.task == "regression":
            result["prediction"] = predictions.astype(float)
            return result, notes
        result["prediction"] = predictions
        if hasattr(self.pipeline, "predict_proba"):
            proba = np.asarray(self.pipeline.predict_proba(features), dtype=float)
            for i, label in enumerate(self.classes):
                result[f"proba_{label}"] = proba[:, i]
        else:
            notes.append("this model gives no class probabilities")
        return result, notes

    def describe(self) -> dict[str, Any]:
        """JSON-able metadata: what ``podium models show`` prints and a service's metadata endpoint."""
        manifest = self.manifest or {}
        return to_jsonable({
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "task": self.task,
            "target": self.output_schema.target,
            "classes": self.output_schema.classes,
            "estimator": _estimator_name(self.pipeline),
            "steps": _step_names(self.pipeline),
            "metric": self.metric,
            "score": self.score,
            "metrics": self.metrics,
            "input_schema": self.input_schema.model_dump(mode="json"),
            "output_schema": self.output_schema.model_dump(mode="json"),
            "lineage": redact(self.lineage),  # packages written before redaction show none either
            "environment": manifest.get("environment") or library_versions(),
            "leaderboard": self.leaderboard,
            "notes": self.notes,
            "checksum": self.checksum,
            "created_at": manifest.get("created_at"),
        })


def library_versions() -> dict[str, str]:
    """Python's and the libraries' versions, without importing the libraries."""
    found = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def _verify(where: str, name: str, expected: str, got: str) -> None:
    if expected != got:
        raise IntegrityError(
            f"model package at {where} failed its checksum on {name} (expected {expected[:16]}, "
            f"got {got[:16]}): it was modified or corrupted; re-register the model."
        )


def _file_digest(fs: AbstractFileSystem, path: str) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with fs.open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
            size += len(block)
    return h.hexdigest(), size


def _estimator_name(pipeline: Any) -> str:
    final = pipeline.steps[-1][1] if hasattr(pipeline, "steps") and pipeline.steps else pipeline
    kind = type(final)
    return f"{kind.__module__}.{kind.__qualname__}"


def _step_names(pipeline: Any) -> list[str]:
    steps = getattr(pipeline, "steps", None)
    return [str(name) for name, _ in steps] if steps else []
