"""One model version ready to answer, and the slot a service serves it from.

A ``ServedModel`` is immutable: the package, its generated request and response models, its
predictor (the package's engine behind the package's input path, warmed up) and its
micro-batcher — or, for a forecasting package, its generated forecast models (the package's
``forecast`` answers; see ``podium.serving.forecasting``).
A ``ModelSlot`` holds the current one; following an alias means replacing it, which is a
single reference assignment, so a request that has started keeps the version it started on.
"""

from __future__ import annotations

import math
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import orjson

from podium.serving.batching import MicroBatcher
from podium.serving.predictor import Predictor
from podium.serving.schema_models import (
    RecordColumns,
    RequestModels,
    ResponseModels,
    build_request_models,
    build_response_models,
    class_label,
    model_title,
)

if TYPE_CHECKING:
    from podium.serving.forecasting import ForecastModels

__all__ = ["ServedModel", "ModelSlot", "ServeLimits", "load_served", "follows_alias", "check_rows"]


UNSEEN = "__podium_unseen_category__"
INLINE_BELOW_S = 0.0005


@dataclass(eq=False)
class ServedModel:
    """One model version, loaded, checked and ready to score (tabular) or to forecast.

    A tabular model has a predictor, a batcher and request/response models; a forecasting
    model has ``forecast`` (its generated models) and none of those.
    """

    name: str
    version: int
    ref: str
    package: Any
    predictor: Predictor | None
    batcher: MicroBatcher | None
    requests: RequestModels | None
    responses: ResponseModels | None
    metadata: bytes
    notes: list[str] = field(default_factory=list)
    forecast: ForecastModels | None = None
    #: series waiting for a forecast (bounded by ``ServeLimits.max_queue_rows``)
    pending_series: int = 0

    @property
    def title(self) -> str:
        return model_title(self.name)

    @property
    def task(self) -> str:
        return self.predictor.task if self.predictor is not None else "forecast"

    @property
    def engine(self) -> str:
        return self.predictor.engine if self.predictor is not None else str(self.package.engine.name)

    @property
    def inline(self) -> bool:
        """Score on the event loop: a call too cheap to be worth a thread hop (ONNX Runtime)."""
        return self.predictor is not None and self.predictor.seconds_per_call < INLINE_BELOW_S

    def component_schemas(self) -> dict[str, Any]:
        """Every JSON schema the OpenAPI document needs for this model."""
        from pydantic.json_schema import models_json_schema

        if self.forecast is not None:
            return self.forecast.schemas()
        assert self.requests is not None and self.responses is not None

        _, top = models_json_schema(
            [(self.requests.record, "validation"), (self.requests.batch, "validation"),
             (self.responses.prediction, "serialization"), (self.responses.batch, "serialization")],
            ref_template="#/components/schemas/{model}")
        return dict(top.get("$defs", {}))


@dataclass(eq=False)
class ModelSlot:
    """Where a service keeps the version of one model it serves now."""

    ref: str
    current: ServedModel

    @property
    def name(self) -> str:
        return self.current.name

    @property
    def follows(self) -> bool:
        return follows_alias(self.ref)


def follows_alias(ref: str) -> bool:
    """``name`` and ``name@alias`` can move; ``name:3`` is pinned."""
    return ":" not in ref


def load_served(registry: Any, ref: str, *, executor: Executor, max_batch: int = 1000,
                micro_batch_rows: int = 256, version: int | None = None,
                limits: ServeLimits | None = None) -> ServedModel:
    """Resolve ``ref``, load that exact version (checksum verified) and make it ready."""
    info = registry.resolve(ref) if version is None else None
    name = str(info.name) if info is not None else ref.split("@")[0].split(":")[0]
    number = int(info.version) if info is not None else int(version)  # type: ignore[arg-type]
    package = registry.load(f"{name}:{number}")
    return serve_package(package, name=name, version=number, ref=ref, executor=executor,
                         max_batch=max_batch, micro_batch_rows=micro_batch_rows, limits=limits)


@dataclass(frozen=True)
class ServeLimits:
    """Bounds of a served model: text length, queued rows, and whether examples may be real rows."""

    max_string_length: int = 4096
    max_queue_rows: int = 10_000
    real_examples: bool = False


def serve_package(package: Any, *, name: str, version: int, ref: str, executor: Executor,
                  max_batch: int = 1000, micro_batch_rows: int = 256,
                  limits: ServeLimits | None = None) -> ServedModel:
    """A loaded package made ready: models generated, predictor warmed up."""
    limits = limits or ServeLimits()
    if getattr(package, "series_layout", None) is not None:
        return _serve_forecaster(package, name=name, version=version, ref=ref, max_series=max_batch,
                                 limits=limits)
    requests = build_request_models(name, package.input_schema, max_batch=max_batch,
                                    max_string_length=limits.max_string_length,
                                    real_examples=limits.real_examples)
    responses = build_response_models(name, package.output_schema)
    predictor = Predictor(package)
    if predictor.engine == "onnx":  # the graph scores: the pipeline's pickle need not stay in memory
        package.release_pickle()
    notes: list[str] = []
    if package.engine.reason:
        notes.append(f"scikit-learn engine: {package.engine.reason}")
    rows = check_rows(package.input_schema)
    try:  # warms up too: the first request should not pay for lazy setup
        predictor.time_call(rows[:1])
    except Exception:  # noqa: BLE001  a row the model cannot take; requests will say why
        pass
    metadata = _metadata(package, name, version, ref, predictor.engine, notes, requests,
                         real_examples=limits.real_examples)
    batcher = MicroBatcher(predictor.predict, executor, max_rows=micro_batch_rows,
                           max_queue_rows=limits.max_queue_rows, join=RecordColumns.join)
    return ServedModel(name, version, ref, package, predictor, batcher, requests, responses,
                       metadata, notes)


def _serve_forecaster(package: Any, *, name: str, version: int, ref: str, max_series: int,
                      limits: ServeLimits) -> ServedModel:
    """A forecasting package made ready: its forecast models generated, its forecaster unpickled."""
    from podium.serving.forecasting import build_forecast_models

    layout = package.series_layout
    models = build_forecast_models(name, layout, getattr(package, "input_schema", None), max_series=max_series,
                                   max_string_length=limits.max_string_length)
    notes: list[str] = []
    if package.engine.reason:
        notes.append(f"engine {package.engine.name}: {package.engine.reason}")
    _ = package.pipeline  # unpickled now (checksum verified): the first request should not pay for it
    metadata = _forecast_metadata(package, name, version, ref, notes, models)
    return ServedModel(name, version, ref, package, None, None, None, None, metadata, notes, forecast=models)


def _forecast_metadata(package: Any, name: str, version: int, ref: str, notes: list[str],
                       models: ForecastModels) -> bytes:
    try:
        described = package.describe()
    except Exception as exc:  # noqa: BLE001  metadata must not stop a model from serving
        described = {"error": f"describe() failed: {exc}"}
    described.pop("input_schema", None)  # the layout says what a request holds; no training example leaks
    layout = models.layout
    described = {"name": name, "version": version, "ref": ref, "engine": str(package.engine.name),
                 "task": "forecast", "endpoints": {"forecast": f"/v1/models/{name}/forecast"},
                 "forecast": layout.to_json(), "max_series": models.max_series,
                 "serving_notes": notes,
                 **{k: v for k, v in described.items() if k not in ("name", "version", "task", "forecast")}}
    return orjson.dumps(described, default=_jsonable, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)


def check_rows(input_schema: Any) -> list[tuple[Any, ...]]:
    """Rows that exercise a schema (the examples, missing values, unseen categories, bounds):
    the warm-up, so that the first request does not pay for lazy set-up."""
    columns = list(input_schema.columns)
    base = [_python(getattr(c, "example", None), c) for c in columns]
    base = [v if v is not None or c.nullable else _fallback(c) for v, c in zip(base, columns)]
    rows = [tuple(base)]
    if any(c.nullable for c in columns):
        rows.append(tuple(None if c.nullable else v for v, c in zip(base, columns)))
    if any(c.kind == "categorical" for c in columns):
        rows.append(tuple(UNSEEN if c.kind == "categorical" else v for v, c in zip(base, columns)))
    for bound in ("min", "max"):
        row = tuple(_python(getattr(c, bound, None), c) if str(c.kind) == "numeric" and
                    _python(getattr(c, bound, None), c) is not None else v for v, c in zip(base, columns))
        rows.append(row)
    return rows


def _python(value: Any, column: Any) -> Any:
    value = class_label(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    kind = str(getattr(column, "kind", ""))
    if kind == "numeric":
        return float(value)
    if kind == "datetime" and isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime()
    return value


def _fallback(column: Any) -> Any:
    kind = str(getattr(column, "kind", ""))
    categories = getattr(column, "categories", None)
    if categories:
        return class_label(categories[0])
    if kind == "numeric":
        return 0
    if kind == "boolean":
        return False
    if kind == "datetime":
        return datetime(2020, 1, 1)
    return ""


def _metadata(package: Any, name: str, version: int, ref: str, engine: str, notes: list[str],
              requests: RequestModels, *, real_examples: bool = False) -> bytes:
    try:
        described = package.describe()
    except Exception as exc:  # noqa: BLE001  metadata must not stop a model from serving
        described = {"error": f"describe() failed: {exc}"}
    schema = described.get("input_schema")
    if not real_examples and isinstance(schema, dict):  # a training value per column is not the caller's to read
        described["input_schema"] = {**schema, "columns": [
            {k: v for k, v in c.items() if k != "example"} if isinstance(c, dict) else c
            for c in schema.get("columns") or []]}
    described = {"name": name, "version": version, "ref": ref, "engine": engine,
                 "endpoints": {"predict": f"/v1/models/{name}/predict",
                               "batch": f"/v1/models/{name}/predict/batch"},
                 "features": [{"name": alias, "required": f.is_required()} for alias, f in
                              ((f.alias or k, f) for k, f in requests.record.model_fields.items())],
                 "serving_notes": notes, **{k: v for k, v in described.items() if k not in ("name", "version")}}
    return orjson.dumps(described, default=_jsonable, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    return str(value)
