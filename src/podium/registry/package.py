"""The model package: a fitted pipeline with everything needed to serve it, in one folder.

::

    <package>/
        model.onnx      the compiled graph (when the model compiles): what scores it
        model.joblib    the fitted pipeline (joblib): the graph's source, and the engine
                        where the model does not compile; for a forecast, the fitted
                        forecaster (engine "forecaster": it reads whole histories)
        package.json    the manifest: format, engine, schemas, metrics, leaderboard, lineage,
                        environment, and the sha256 of every other file — written last
        package.sig     optional: an Ed25519 signature over package.json's bytes

``ModelPackage.load`` reads the manifest, checks it against the registry's checksum, checks
the signature (``podium.registry.signing``) and every file's sha256. A forecast package also
holds a ``forecast`` block (``SeriesLayout.to_json()``: columns, frequency, season, horizon,
covariates, the history a forecast needs) and answers ``forecast(history, future)``. The pipeline is
unpickled (from the exact bytes checked) only when it is used: a package whose engine is
"onnx" scores without it, so a service or ``podium predict`` on a compiled model never
unpickles anything. The service, batch scoring and any export are built from a package alone.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import tempfile
from datetime import datetime, timezone
from importlib import metadata
from typing import TYPE_CHECKING, Any

import numpy as np
from fsspec import AbstractFileSystem
from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem

from podium._internal.redact import redact
from podium.errors import DataError, IntegrityError, NotFoundError, PodiumError, UserError
from podium.registry._json import dumps, to_jsonable
from podium.registry.artifacts import MANIFEST
from podium.registry.schema import InputSchema, OutputSchema, TypedColumns
from podium.registry.scoring import FORECASTER, ONNX, SKLEARN, Engine, EngineInfo, OnnxEngine, Scores, SklearnEngine
from podium.registry.signing import SIGNATURE_FILE, SigningKey, TrustPolicy, check_signature

if TYPE_CHECKING:
    import pandas as pd

    from podium.data.series import SeriesLayout

__all__ = ["ModelPackage", "EngineInfo", "MODEL_FILE", "ONNX_FILE", "MANIFEST", "FORMAT", "FORMAT_VERSION",
           "library_versions"]

FORMAT = "podium.model-package"
FORMAT_VERSION = 1
MODEL_FILE = "model.joblib"
ONNX_FILE = "model.onnx"

_LIBRARIES = ("podium", "scikit-learn", "pandas", "numpy", "joblib", "lightgbm", "xgboost")


_NOT_LOADED: Any = object()


class ModelPackage:
    """A fitted pipeline, its compiled graph (if any) and its self-description."""

    def __init__(
        self,
        pipeline: Any,
        input_schema: InputSchema,
        output_schema: OutputSchema,
        metric: str,
        metrics: dict[str, float] | None = None,
        leaderboard: list[dict[str, Any]] | None = None,
        lineage: dict[str, Any] | None = None,
        notes: list[str] | None = None,
        checksum: str | None = None,
        manifest: dict[str, Any] | None = None,
        *,
        engine_info: EngineInfo | None = None,
        onnx_model: bytes | None = None,
        training: dict[str, Any] | None = None,
        series_layout: SeriesLayout | None = None,
    ) -> None:
        self._pipeline = pipeline
        self.input_schema = input_schema
        self.output_schema = output_schema
        self.metric = metric
        self.metrics: dict[str, float] = metrics if metrics is not None else {}
        self.leaderboard: list[dict[str, Any]] = leaderboard if leaderboard is not None else []
        self.lineage: dict[str, Any] = lineage if lineage is not None else {}
        self.notes: list[str] = notes if notes is not None else []
        #: sha256 of model.joblib, set by ``save`` and ``load``
        self.checksum = checksum
        #: the manifest as written or read, set by ``save`` and ``load``
        self.manifest = manifest
        #: what scores the model (the ``engine`` block); None: the pipeline, not compiled
        self.engine_info = engine_info
        #: the compiled graph (model.onnx bytes) when the engine is "onnx"
        self.onnx_model = onnx_model
        #: how the shipped model relates to its metrics (the ``training`` block)
        self.training: dict[str, Any] = training if training is not None else {}
        #: how a forecast model reads histories (the ``forecast`` block); None for a tabular model
        self.series_layout = series_layout
        self._pickle: bytes | None = None
        self._where = "memory"
        self._source: tuple[AbstractFileSystem, str] | None = None  # the folder it was loaded from
        self._engines: dict[int | None, Engine] = {}

    def __repr__(self) -> str:
        return f"ModelPackage(task={self.task!r}, metric={self.metric!r}, engine={self.engine.name!r})"

    @property
    def pipeline(self) -> Any:
        """The fitted scikit-learn pipeline, unpickled (from verified bytes) on first use."""
        if self._pipeline is _NOT_LOADED:
            self._pipeline = self._unpickle()
        return self._pipeline

    @pipeline.setter
    def pipeline(self, value: Any) -> None:
        self._pipeline = value
        self._engines.clear()

    @property
    def pipeline_loaded(self) -> bool:
        """Whether the pipeline has been unpickled (never, for a compiled model that only scores)."""
        return self._pipeline is not _NOT_LOADED

    @property
    def engine(self) -> EngineInfo:
        return self.engine_info or EngineInfo(SKLEARN, reason="the package was built without compiling")

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
        """The class labels in the order of the model's probabilities ([] for regression)."""
        if self.task in ("regression", "forecast"):
            return []
        fitted = getattr(self.pipeline, "classes_", None) if self.pipeline_loaded else None
        found = fitted if fitted is not None else (self.output_schema.classes or [])
        return [v.item() if isinstance(v, np.generic) else v for v in found]

    # -- writing and reading ------------------------------------------------------------------
    def save(self, fs: AbstractFileSystem | None, path: str | os.PathLike[str], *,
             signer: SigningKey | None = None) -> dict[str, Any]:
        """Write the package folder at ``path`` on ``fs`` (None: the local disk); returns the manifest.

        The manifest is written last, so a folder without one is incomplete; with ``signer``,
        its signature is written just before it.
        """
        import joblib

        fs = fs or LocalFileSystem()
        root = str(path).rstrip("/")
        fs.makedirs(root, exist_ok=True)
        files: dict[str, dict[str, Any]] = {}
        target = f"{root}/{MODEL_FILE}"
        if isinstance(fs, LocalFileSystem):
            joblib.dump(self.pipeline, target)
        else:
            with tempfile.TemporaryDirectory(prefix="podium-package-") as tmp:
                local = os.path.join(tmp, MODEL_FILE)
                joblib.dump(self.pipeline, local)
                fs.put_file(local, target)
        digest, size = _file_digest(fs, target)
        files[MODEL_FILE] = {"sha256": digest, "bytes": size}
        if self.engine.name == ONNX:
            if self.onnx_model is None:
                raise PodiumError("a package on the onnx engine needs its compiled graph (onnx_model).")
            with fs.open(f"{root}/{ONNX_FILE}", "wb") as f:
                f.write(self.onnx_model)
            files[ONNX_FILE] = {"sha256": hashlib.sha256(self.onnx_model).hexdigest(),
                                "bytes": len(self.onnx_model)}
        manifest = self._manifest(files)
        if signer is not None:
            manifest["signature"] = signer.manifest_block()
        raw = dumps(manifest, indent=2).encode("utf-8")
        if signer is not None:
            with fs.open(f"{root}/{SIGNATURE_FILE}", "wb") as f:
                f.write(signer.sign(raw))
        with fs.open(f"{root}/{MANIFEST}", "wb") as f:
            f.write(raw)
        self.checksum, self.manifest = digest, manifest
        return manifest

    def _manifest(self, files: dict[str, dict[str, Any]]) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": datetime.now(timezone.utc).isoformat(),
            "files": files,
            "engine": self.engine.to_json(),
            "estimator": _estimator_name(self.pipeline),
            "steps": _step_names(self.pipeline),
            "metric": self.metric,
            "metrics": to_jsonable(self.metrics),
            "training": to_jsonable(self.training),
            "input_schema": self.input_schema.model_dump(mode="json"),
            "output_schema": self.output_schema.model_dump(mode="json") | {"classes": to_jsonable(self.classes)
                                                                          if self.classes else None},
            **({"forecast": self.series_layout.to_json()} if self.series_layout is not None else {}),
            "lineage": to_jsonable(redact(self.lineage)),  # no literal secret is written
            "environment": library_versions(),
            "leaderboard": to_jsonable(self.leaderboard),
            "notes": list(self.notes),
        }

    @classmethod
    def load(cls, path_or_url: str | os.PathLike[str], *, fs: AbstractFileSystem | None = None,
             manifest_sha256: str | None = None, trust: TrustPolicy | None = None) -> ModelPackage:
        """Read a package folder, verifying every file's checksum and the signature.

        ``manifest_sha256`` (what the registry recorded) also pins the manifest itself;
        ``trust`` says which signatures are required and accepted (see ``verify``). The
        pipeline is unpickled, from the verified bytes, only when it is first used.
        """
        where = str(path_or_url)
        fs, root = _located(path_or_url, fs)
        manifest, blobs = _read_verified(fs, root, where, manifest_sha256, trust)
        engine = EngineInfo.from_json(manifest.get("engine"))
        package = cls(
            pipeline=_NOT_LOADED,
            input_schema=InputSchema.model_validate(manifest["input_schema"]),
            output_schema=OutputSchema.model_validate(manifest["output_schema"]),
            metric=manifest.get("metric", ""),
            metrics=manifest.get("metrics") or {},
            leaderboard=manifest.get("leaderboard") or [],
            lineage=manifest.get("lineage") or {},
            notes=manifest.get("notes") or [],
            checksum=manifest["files"][MODEL_FILE]["sha256"],
            manifest=manifest,
            engine_info=engine,
            onnx_model=blobs.get(ONNX_FILE),
            training=manifest.get("training") or {},
            series_layout=_layout(manifest.get("forecast")),
        )
        package._pickle = blobs[MODEL_FILE]
        package._where = where
        package._source = (fs, root)
        return package

    def release_pickle(self) -> None:
        """Let go of the verified pickle's bytes, kept for the pipeline's first use, where that
        use will not come: a service's worker scoring the compiled graph (digits' forest: 15 MB
        a worker). Asked for later, the pipeline is read from the package folder and checked
        against its checksum again."""
        if self._source is not None and self._pipeline is _NOT_LOADED:
            self._pickle = None

    def _unpickle(self) -> Any:
        import joblib

        blob, where = self._pickle, self._where
        if blob is None and self._source is not None:  # released (release_pickle): read and checked again
            fs, root = self._source
            try:
                blob = fs.cat_file(f"{root}/{MODEL_FILE}")
            except FileNotFoundError:
                raise IntegrityError(f"model package at {where} lacks {MODEL_FILE} now: it was modified; "
                                     "re-register the model.") from None
            _verify(where, MODEL_FILE, str(self.checksum), hashlib.sha256(blob).hexdigest())
        if blob is None:
            raise PodiumError(f"model package at {where} has no pipeline to load.")
        try:
            pipeline = joblib.load(io.BytesIO(blob))
        except (ImportError, AttributeError) as exc:
            versions = ", ".join(f"{k} {v}" for k, v in ((self.manifest or {}).get("environment") or {}).items())
            raise PodiumError(f"model package at {where} cannot be unpickled here: {exc}.",
                              hint=f"install the libraries it was trained with ({versions})") from exc
        self._pickle = None
        return pipeline

    @staticmethod
    def verify(path_or_url: str | os.PathLike[str], *, fs: AbstractFileSystem | None = None,
               manifest_sha256: str | None = None, trust: TrustPolicy | None = None) -> dict[str, Any]:
        """Check a package folder without loading it; returns its manifest.

        Raises ``IntegrityError`` when the manifest differs from ``manifest_sha256``, a file
        from its sha256, or the signature is broken, missing (``trust.require_signed``) or by a
        key ``trust`` does not list.
        """
        manifest, _ = _read_verified(*_located(path_or_url, fs), str(path_or_url), manifest_sha256, trust)
        return manifest

    # -- using it -----------------------------------------------------------------------------
    def scorer(self, *, threads: int | None = None) -> Engine:
        """The package's engine, made once: its graph in onnxruntime, or its pipeline.

        ``threads`` caps onnxruntime's threads (a serving worker uses 1); None lets it choose.
        """
        if self.series_layout is not None:
            raise UserError("This is a forecast model: it forecasts from histories, not from rows.",
                            hint="use podium predict NAME --input HISTORY.csv (ModelPackage.forecast) or the "
                                 "service's /forecast route")
        engine = self._engines.get(threads)
        if engine is None:
            if self.engine.name == ONNX:
                assert self.onnx_model is not None
                engine = OnnxEngine(self.onnx_model, self.input_schema, self.task, self.classes, threads=threads)
            else:
                written_before_engines = self.manifest is not None and "engine" not in self.manifest
                engine = SklearnEngine(self.pipeline, self.task, self.classes,
                                       legacy=self.input_schema if written_before_engines else None)
            self._engines[threads] = engine
        return engine

    def score_columns(self, columns: TypedColumns, *, threads: int | None = None) -> Scores:
        """Score typed input columns (``input_schema.typed``) through the package's engine."""
        return self.scorer(threads=threads).score(columns)

    def predict_frame(self, frame: pd.DataFrame, *, threads: int | None = None) -> tuple[pd.DataFrame, list[str]]:
        """Score ``frame``: its rows plus ``prediction`` and, for classifiers, ``proba_<class>``.

        Raises ``SchemaError`` when a column is missing or a value cannot take its type.
        """
        if self.series_layout is not None:
            self.scorer()  # says to forecast instead
        notes: list[str] = []
        extra = self.input_schema.extra_columns(list(frame.columns))
        if extra:
            notes.append(f"ignored extra columns: {_listing(extra)}")
        columns = self.input_schema.typed(frame)
        result = frame.copy()
        clashes = [c for c in result.columns if str(c) == "prediction" or str(c).startswith("proba_")]
        if clashes:
            result = result.drop(columns=clashes)
            notes.append(f"replaced input columns: {', '.join(map(str, clashes))}")
        if len(frame) == 0:
            result["prediction"] = np.array([], dtype=float if self.task == "regression" else object)
            return result, notes
        scores = self.score_columns(columns, threads=threads)
        result["prediction"] = scores.values
        if scores.proba is not None:
            for i, label in enumerate(self.classes):
                result[f"proba_{label}"] = scores.proba[:, i]
        return result, notes

    def forecast(self, history: pd.DataFrame, future: pd.DataFrame | None = None) -> pd.DataFrame:
        """The next ``horizon`` points of every series in ``history`` (a frame in the columns the
        model was trained on: time, series id, target, covariates), in those columns.

        ``future`` holds the known-future covariates of the steps to forecast (time, series id,
        covariates), required when the model has some. Raises ``DataError`` (one line) on a
        missing column, a bad, duplicated or missing timestamp, or a series too short.
        """
        layout = self.series_layout
        if layout is None:
            raise UserError(f"This is a {self.task} model, not a forecast one: it scores rows.",
                            hint="use podium predict NAME --input ROWS.csv (ModelPackage.predict_frame)")
        from podium.data.series import SERIES, TIME, VALUE  # pandas: only where a forecast is made

        panel = layout.canonical(history, what="the history")
        missing = panel[VALUE].isna()
        if missing.any():
            row = panel.loc[missing.idxmax()]
            raise DataError(f"the history of series {row[SERIES]!r} has no numeric value of '{layout.target}' at "
                            f"{row[TIME]}.", hint="fill the missing values before forecasting")
        lengths = panel.groupby(SERIES, sort=False).size()
        short = lengths[lengths < layout.min_history]
        if len(short):
            raise DataError(f"the history of series {short.index[0]!r} has {int(short.iloc[0])} points; this "
                            f"model needs at least {layout.min_history} to forecast.",
                            hint="send a longer history for that series")
        covariates = None
        if layout.known_future:
            if future is None:
                raise DataError(f"this model uses known-future covariates ({', '.join(layout.known_future)}): give "
                                f"their values for the next {layout.horizon} steps of each series.",
                                hint="podium predict … --future FUTURE.csv")
            covariates = layout.canonical_future(future, panel)
        answer = self.pipeline.predict(panel, covariates)
        return layout.user_frame(answer)

    def describe(self) -> dict[str, Any]:
        """JSON-able metadata: what ``podium models show`` prints and a service's metadata endpoint."""
        manifest = self.manifest or {}
        described: dict[str, Any] = to_jsonable({
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "task": self.task,
            "target": self.output_schema.target,
            "classes": self.output_schema.classes,
            "engine": self.engine.to_json(),
            "estimator": manifest.get("estimator") or _estimator_name(self.pipeline),
            "steps": manifest.get("steps") if "steps" in manifest else _step_names(self.pipeline),
            "metric": self.metric,
            "score": self.score,
            "metrics": self.metrics,
            "training": self.training,
            "forecast": None if self.series_layout is None else self.series_layout.to_json(),
            "input_schema": self.input_schema.model_dump(mode="json"),
            "output_schema": self.output_schema.model_dump(mode="json"),
            "lineage": redact(self.lineage),  # packages written before redaction show none either
            "environment": manifest.get("environment") or library_versions(),
            "leaderboard": self.leaderboard,
            "notes": self.notes,
            "checksum": self.checksum,
            "signed_by": (manifest.get("signature") or {}).get("key_id"),
            "created_at": manifest.get("created_at"),
        })
        return described


def _layout(block: dict[str, Any] | None) -> SeriesLayout | None:
    """A manifest's forecast block (a tabular package has none: pandas stays unimported)."""
    if not block:
        return None
    from podium.data.series import SeriesLayout

    return SeriesLayout.from_json(block)


def library_versions() -> dict[str, str]:
    """Python's and the libraries' versions, without importing the libraries."""
    found = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def _located(path_or_url: str | os.PathLike[str], fs: AbstractFileSystem | None) -> tuple[AbstractFileSystem, str]:
    """The file system and the folder of a package path or URL (``fs`` given: the path is in it)."""
    if fs is None:
        fs, root = url_to_fs(str(path_or_url))
    else:
        root = str(path_or_url)
    return fs, root.rstrip("/")


def _read_verified(fs: AbstractFileSystem, root: str, where: str, manifest_sha256: str | None,
                   trust: TrustPolicy | None) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The manifest and the bytes of every file it lists in the folder ``root`` of ``fs`` (``where``
    names it in messages), each checked (nothing unpickled)."""
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
        if not isinstance(files, dict):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise IntegrityError(f"model package at {where} has an unreadable {MANIFEST}: it was "
                             "modified or corrupted; re-register the model.") from None
    if manifest.get("format") != FORMAT or int(manifest.get("format_version", 0)) > FORMAT_VERSION:
        raise PodiumError(f"model package at {where} has format {manifest.get('format')!r} "
                          f"version {manifest.get('format_version')!r}, which this podium cannot read.",
                          hint="upgrade podium to the version that wrote it")
    signature_path = f"{root}/{SIGNATURE_FILE}"
    signature = fs.cat_file(signature_path) if fs.exists(signature_path) else None
    check_signature(where, manifest, raw, signature, trust)
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
    if EngineInfo.from_json(manifest.get("engine")).name == ONNX and ONNX_FILE not in blobs:
        raise IntegrityError(f"model package at {where} is on the onnx engine but lists no {ONNX_FILE}; "
                             "re-register the model.")
    return manifest, blobs


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


def _listing(names: list[str], shown: int = 20) -> str:
    head = ", ".join(names[:shown])
    return head if len(names) <= shown else f"{head} and {len(names) - shown} more"
