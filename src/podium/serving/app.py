"""The web service generated from model packages: ``create_app(registry, refs)``.

Per served model: ``POST /v1/models/{name}/predict`` (one record), ``POST
/v1/models/{name}/predict/batch`` (several) — or, for a forecasting model, ``POST
/v1/models/{name}/forecast`` (histories in, the next horizon out) — and ``GET
/v1/models/{name}`` (metrics, schema, lineage); for the service: ``GET /v1/models``, ``/healthz``, ``/readyz``, ``/metrics``,
``/openapi.json`` and ``/docs``. Request bodies are read and validated here (not by FastAPI's
body machinery) so that malformed JSON is a 400, an oversized batch a 413 before any record
is validated, a bad field a 422 that names it, and no input a 500; the OpenAPI document is
completed with the generated models of the versions being served.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from podium.config import PredictionLogSettings
from podium.errors import SpecError, UserError
from podium.registry.records import ApiKeyInfo, KeyRight
from podium.serving.auth import (
    MISSING,
    SECURITY_SCHEMES,
    KeyChecker,
    KeyFile,
    KeyLookup,
    KeyStoreUnavailable,
    key_from_headers,
)
from podium.serving.batching import Overloaded
from podium.serving.health import RegistryHealth
from podium.serving.limits import BodyLimit, BodyTooLarge
from podium.serving.logging import AccessLog, PredictionSampler
from podium.serving.metrics import CONTENT_TYPE_LATEST, ServiceMetrics
from podium.serving.options import ServeOptions
from podium.serving.reload import AliasWatcher
from podium.serving.predictor import Predictions
from podium.serving.schema_models import RecordColumns, RequestModels
from podium.serving.served import ModelSlot, ServedModel, ServeLimits, load_served

__all__ = ["create_app", "ApiError", "ErrorBody", "ServiceState"]

logger = logging.getLogger("podium.serving")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_JSON = "application/json"
IGNORED_HEADER = "X-Ignored-Fields"
CLIENT_CLOSED = 499  # the status the metrics record for a client gone mid-request (nginx's)
_INLINE_ROWS = 1000  # a bigger request goes to the scoring thread even when the model is quick


class FieldError(BaseModel):
    field: str = Field(description="where: a feature name, or records[i].feature in a batch")
    message: str
    type: str


class ErrorBody(BaseModel):
    """Every refusal: one sentence that says what is wrong and what to do."""

    detail: str
    errors: list[FieldError] | None = None
    request_id: str | None = None


class ApiError(Exception):
    """A refusal with its status code; ``kind`` labels the errors metric."""

    def __init__(self, status: int, detail: str, *, kind: str, errors: list[dict[str, str]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind
        self.errors = errors
        self.headers = headers


@dataclass
class ServiceState:
    """What a running app holds, reachable as ``app.state.podium`` (tests, the console)."""

    options: ServeOptions
    slots: dict[str, ModelSlot]
    metrics: ServiceMetrics
    sampler: PredictionSampler
    access_log: AccessLog
    watcher: AliasWatcher
    checker: KeyChecker | None
    executor: ThreadPoolExecutor
    ready: bool = False
    openapi_key: tuple[tuple[str, int], ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    health: RegistryHealth = field(default_factory=lambda: RegistryHealth(300.0))


def create_app(registry: Any, refs: Sequence[str], *, auth: bool = True,
               options: ServeOptions | None = None) -> FastAPI:
    """A FastAPI app serving ``refs`` (``name``, ``name@alias`` or ``name:N``) from ``registry``.

    Every model is loaded (checksum verified), checked and warmed up before this returns.
    """
    options = (options or ServeOptions()).model_copy(update={"refs": list(refs), "auth": auth})
    if not options.refs:
        raise SpecError("Nothing to serve: name at least one model (podium serve churn@champion).")
    executor = ThreadPoolExecutor(1, thread_name_prefix="podium-predict")
    metrics = ServiceMetrics(multiprocess=options.metrics_dir is not None)

    limits = ServeLimits(options.max_string_length, options.max_queue_rows, options.real_examples)

    def build(ref: str, version: int | None = None) -> ServedModel:
        served = load_served(registry, ref, executor=executor, max_batch=options.max_batch,
                             micro_batch_rows=options.micro_batch_rows, version=version, limits=limits)
        if served.batcher is not None:
            served.batcher.observe = metrics.rows_per_call.labels(served.name).observe
        return served

    slots: dict[str, ModelSlot] = {}
    for ref in options.refs:
        served = build(ref)
        if served.name in slots:
            raise SpecError(f"Model '{served.name}' is named twice ({slots[served.name].ref}, {ref}); "
                            "serve each model once.")
        slots[served.name] = ModelSlot(ref, served)
        metrics.version.labels(served.name).set(served.version)

    def swapped(slot: ModelSlot, old: ServedModel, new: ServedModel) -> None:
        metrics.version.labels(new.name).set(new.version)
        metrics.reloads.labels(new.name, "swapped").inc()

    def failed(slot: ModelSlot, version: int, exc: Exception) -> None:
        metrics.reloads.labels(slot.name, "failed").inc()

    health = RegistryHealth(options.registry_grace)
    watcher = AliasWatcher(registry, list(slots.values()), interval=options.reload_interval,
                           build=build, on_swap=swapped, on_failure=failed, health=health)
    checker = _key_checker(registry, options, health) if auth else None
    sampler = PredictionSampler(_prediction_writer(registry, options.prediction_log_rate,
                                                   options.prediction_log_url, options.prediction_log_policy),
                                options.prediction_log_rate,
                                max_rows_per_interval=options.prediction_log_max_rows)
    state = ServiceState(options, slots, metrics, sampler, AccessLog(options.access_log), watcher,
                         checker, executor, health=health)

    heartbeat = None
    if options.service_id is not None:  # podium serve: the service is recorded in the registry
        from podium.serving.registration import Heartbeat

        supervisor = os.environ.get("PODIUM_SUPERVISOR_PID")
        heartbeat = Heartbeat(registry, options, lambda: [
            {"ref": s.ref, "name": s.name, "version": s.current.version} for s in slots.values()],
            supervisor_pid=int(supervisor) if supervisor and supervisor.isdigit() else None)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        sampler.start()
        watcher.start()
        if heartbeat is not None:
            heartbeat.start()
        state.ready = True
        try:
            yield
        finally:
            state.ready = False
            if heartbeat is not None:
                heartbeat.stop()
            watcher.stop()
            await asyncio.get_running_loop().run_in_executor(None, sampler.close)
            executor.shutdown(wait=True)
            if checker is not None:
                checker.close()
            state.access_log.close()

    names = ", ".join(slots)
    app = FastAPI(
        title=f"podium: {names}",
        version=_podium_version(),
        description=_DESCRIPTION.format(names=names, limit=options.max_batch,
                                        auth="required" if auth else "off (--no-auth)"),
        lifespan=lifespan,
        # FastAPI's own OpenTelemetry hook asks, on every request, whether a provider is set
        # (~30 µs); podium's metrics and logs are its own (FastAPI before 0.165 ignores this)
        telemetry={"tracing": False, "metrics": False, "logs": False},
        docs_url=None,  # served by _add_docs_routes, from local files
        redoc_url=None,
        openapi_url=None if options.protect_docs else "/openapi.json",
    )
    app.state.podium = state
    direct = _direct_routes(state)
    _add_model_routes(app, state, direct)
    _add_service_routes(app, state)
    _add_docs_routes(app, state)
    _add_error_handlers(app, state)
    app.add_middleware(DirectRoutes, routes=direct, handlers=app.exception_handlers)
    app.add_middleware(BodyLimit, limit_for=lambda scope: _body_limit(options, scope))
    app.add_middleware(ObserveMiddleware, state=state)
    app.openapi = lambda: _openapi(app, state)  # type: ignore[method-assign]
    return app


_DESCRIPTION = """Predictions from podium models: {names}.

Send one record to `POST /v1/models/{{name}}/predict`, or up to {limit} to
`POST /v1/models/{{name}}/predict/batch`; a forecasting model takes the histories of up to {limit}
series at `POST /v1/models/{{name}}/forecast` and answers their next periods. API key: {auth} — `Authorization: Bearer KEY` or
`X-API-Key: KEY`. Every answer carries the model version and a request id (`X-Request-ID`).
"""

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "malformed JSON"},
    401: {"model": ErrorBody, "description": "no API key, or an unknown or revoked one"},
    403: {"model": ErrorBody, "description": "the API key lacks the right this needs (the message names it)"},
    422: {"model": ErrorBody, "description": "a field is missing or invalid (the error names it)"},
    503: {"model": ErrorBody, "description": "busy (retry after Retry-After seconds), or the key store "
                                            "could not be reached"},
}


# -- model endpoints ----------------------------------------------------------------------------
Endpoint = Callable[[Request], Awaitable[Response]]


def _direct_routes(state: ServiceState) -> dict[str, Endpoint]:
    """The scoring endpoints, by path: what ``DirectRoutes`` answers without FastAPI's router."""
    routes: dict[str, Endpoint] = {}
    for name, slot in state.slots.items():
        routes[f"/v1/models/{name}/predict"] = _predict_one(state, slot)
        routes[f"/v1/models/{name}/predict/batch"] = _predict_batch(state, slot)
    return routes


class DirectRoutes:
    """``POST`` to a scoring endpoint goes straight to its handler (pure ASGI).

    The handlers read and validate their bodies themselves and take no FastAPI parameters, so
    FastAPI's routing and dependency machinery would add only cost to the request that matters
    most. The same handlers stay registered as FastAPI routes (the OpenAPI document, and any
    request this does not take); their refusals go through the app's own exception handlers,
    so every answer is the same whichever way a request comes.
    """

    def __init__(self, app: ASGIApp, *, routes: dict[str, Endpoint],
                 handlers: dict[Any, Callable[[Request, Any], Any]]) -> None:
        self.app = app
        self.routes = routes
        self.handlers = handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self.routes.get(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await endpoint(request)
        except Exception as exc:  # noqa: BLE001  answered as the app's exception handlers answer it
            handler = next((self.handlers[k] for k in type(exc).__mro__ if k in self.handlers), None)
            if handler is None:  # pragma: no cover - the app registers a handler for Exception
                raise
            answer = handler(request, exc)
            response = await answer if inspect.isawaitable(answer) else answer
        await response(scope, receive, send)


def _add_model_routes(app: FastAPI, state: ServiceState, scoring: dict[str, Endpoint]) -> None:
    for name, slot in state.slots.items():
        op = re.sub(r"\W", "_", name)
        app.add_api_route(f"/v1/models/{name}/predict", scoring[f"/v1/models/{name}/predict"], methods=["POST"],
                          operation_id=f"predict_{op}", summary=f"Score one record with '{name}'",
                          tags=[name], responses=_ERRORS)
        app.add_api_route(f"/v1/models/{name}/predict/batch", scoring[f"/v1/models/{name}/predict/batch"],
                          methods=["POST"], operation_id=f"predict_batch_{op}",
                          summary=f"Score up to {state.options.max_batch} records with '{name}'",
                          tags=[name], responses={**_ERRORS, 413: {
                              "model": ErrorBody, "description": "more records than the limit"}})
        app.add_api_route(f"/v1/models/{name}/forecast", _forecast(state, slot), methods=["POST"],
                          operation_id=f"forecast_{op}", tags=[name],
                          summary=f"Forecast the next periods of up to {state.options.max_batch} series "
                                  f"with '{name}'",
                          responses={**_ERRORS, 413: {"model": ErrorBody, "description": "more series than the limit"}})
        app.add_api_route(f"/v1/models/{name}", _describe(state, slot), methods=["GET"],
                          operation_id=f"describe_{op}", tags=[name],
                          summary=f"'{name}': version, metrics, input schema, lineage",
                          responses={k: v for k, v in _ERRORS.items() if k in (401, 403, 503)})

    async def unknown(request: Request, name: str) -> Response:
        if name in state.slots:  # a served model, the wrong method
            allowed = "GET" if request.url.path.rstrip("/").endswith(f"/models/{name}") else "POST"
            raise ApiError(405, f"{request.method} is not allowed on {request.url.path}; use {allowed}.",
                           kind="method", headers={"Allow": allowed})
        served = ", ".join(state.slots)
        raise ApiError(404, f"No model '{name}' is served here; served: {served}.", kind="not_found")

    for path in ("/v1/models/{name}", "/v1/models/{name}/predict", "/v1/models/{name}/predict/batch",
                 "/v1/models/{name}/forecast"):
        app.add_api_route(path, unknown, methods=["GET", "POST"], include_in_schema=False)


def _predict_one(state: ServiceState, slot: ModelSlot) -> Callable[[Request], Awaitable[Response]]:
    async def predict(request: Request) -> Response:
        served = slot.current  # this request stays on this version whatever happens meanwhile
        request.scope["podium"] = (served.name, served.version, "predict")
        await _authorize(state, request, "predict", served.name)
        requests = _tabular(served)
        body = await request.body()
        try:
            record = requests.record.model_validate_json(body)
        except ValidationError as exc:
            raise _invalid(exc) from None
        records = RecordColumns.from_rows(requests.columns, [requests.values(record)], _extra([record]))
        results = await _score(state, served, records)
        rid = request.scope["podium_request_id"]
        state.sampler.offer(served.name, served.version, rid, requests.columns, records, results)
        payload = {"model": served.name, "version": served.version, "request_id": rid, **results[0]}
        return Response(orjson.dumps(payload), media_type=_JSON, headers=_ignored(records.ignored))

    return predict


def _predict_batch(state: ServiceState, slot: ModelSlot) -> Callable[[Request], Awaitable[Response]]:
    limit = state.options.max_batch

    async def predict_batch(request: Request) -> Response:
        served = slot.current
        request.scope["podium"] = (served.name, served.version, "batch")
        await _authorize(state, request, "predict", served.name)
        requests = _tabular(served)
        body = await request.body()
        data = _parse_json(body)
        listed = data.get("records") if isinstance(data, dict) else None
        if isinstance(listed, list) and len(listed) > limit:
            raise ApiError(413, f"{len(listed)} records in one batch; the limit is {limit}. "
                           "Split the batch.", kind="too_large")
        records = requests.read_batch(data)  # column by column: the common case, quick
        if records is None:  # the batch model judges (from the JSON text: JSON's rules, not Python's)
            try:
                batch = requests.batch.model_validate_json(body)
            except ValidationError as exc:
                raise _invalid(exc) from None
            parsed: list[BaseModel] = batch.records  # type: ignore[attr-defined]
            records = RecordColumns.from_rows(requests.columns, [requests.values(r) for r in parsed],
                                              _extra(parsed))
        results = await _score(state, served, records)
        rid = request.scope["podium_request_id"]
        state.sampler.offer(served.name, served.version, rid, requests.columns, records, results)
        head = orjson.dumps({"model": served.name, "version": served.version, "request_id": rid})
        answer = head[:-1] + b',"predictions":' + results.json() + b"}"
        return Response(answer, media_type=_JSON, headers=_ignored(records.ignored))

    return predict_batch


def _tabular(served: ServedModel) -> RequestModels:
    """The request models of a model that scores records; a forecasting model refuses (409)."""
    if served.requests is None:
        raise ApiError(409, f"Model '{served.name}' forecasts series; it does not score records. "
                       f"POST the series' histories to /v1/models/{served.name}/forecast.", kind="wrong_endpoint")
    return served.requests


def _forecast(state: ServiceState, slot: ModelSlot) -> Callable[[Request], Awaitable[Response]]:
    limit = state.options.max_batch
    queue_limit = state.options.max_queue_rows

    async def forecast(request: Request) -> Response:
        from podium.serving.forecasting import ForecastInputError, forecast_answer, series_ids

        served = slot.current
        request.scope["podium"] = (served.name, served.version, "forecast")
        await _authorize(state, request, "predict", served.name)
        models = served.forecast
        if models is None:  # a model that scores records has no forecast: as if the route were not there
            raise ApiError(404, f"Model '{served.name}' does not forecast; score records at "
                           f"/v1/models/{served.name}/predict.", kind="not_found")
        body = await request.body()
        data = _parse_json(body)
        listed = data.get("series") if isinstance(data, dict) else None
        if isinstance(listed, list) and len(listed) > models.max_series:
            raise ApiError(413, f"{len(listed)} series in one request; the limit is {models.max_series}. "
                           "Split the request.", kind="too_large")
        try:
            parsed = models.request.model_validate_json(body)
        except ValidationError as exc:
            raise _invalid(exc) from None
        order = series_ids(models.layout, parsed)
        if served.pending_series + len(order) > queue_limit:
            raise ApiError(503, f"The model '{served.name}' is busy ({served.pending_series} series waiting); "
                           "retry in a second.", kind="overloaded", headers={"Retry-After": "1"})

        def work() -> list[dict[str, Any]]:
            history, future = models.frames(parsed)
            return forecast_answer(models.layout, served.package.forecast(history, future), order)

        served.pending_series += len(order)
        try:
            answer = await asyncio.get_running_loop().run_in_executor(state.executor, work)
        except (ForecastInputError, UserError) as exc:
            raise ApiError(422, f"Cannot forecast this request: {exc}", kind="validation") from None
        except Exception as exc:  # noqa: BLE001  input the forecaster cannot take is the caller's problem
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise ApiError(422, f"The model could not forecast this input: {type(exc).__name__}: {text[:300]}",
                           kind="scoring") from None
        finally:
            served.pending_series -= len(order)
        rid = request.scope["podium_request_id"]
        values = [{"prediction": p[models.layout.target]} for s in answer for p in s["forecast"]]
        state.metrics.observe_predictions(served.name, values)
        state.sampler.offer(served.name, served.version, rid, ["series", "history_points"],
                            [(sid, len(s.history)) for sid, s in zip(order, parsed.series)],  # type: ignore[attr-defined]
                            [{"forecast": s["forecast"]} for s in answer])
        payload = {"model": served.name, "version": served.version, "request_id": rid,
                   "horizon": models.layout.horizon, "series": answer}
        return Response(orjson.dumps(payload), media_type=_JSON)

    return forecast


def _extra(records: Sequence[BaseModel]) -> list[str]:
    """The fields of validated records that the model does not take, in order of appearance."""
    names: dict[str, None] = {}
    for record in records:
        if record.__pydantic_extra__:
            names.update(dict.fromkeys(record.__pydantic_extra__))
    return list(names)


def _ignored(names: Sequence[str]) -> dict[str, str] | None:
    """``X-Ignored-Fields``: the fields of the request the model does not take, if any, as a
    JSON list (escaped to ASCII: a name may hold anything)."""
    if not names:
        return None
    # a header value may hold printable ASCII only: JSON's \u escapes for the rest (DEL included)
    text = json.dumps(list(names)[:50], ensure_ascii=True, separators=(",", ":")).replace("\x7f", "\\u007f")
    return {IGNORED_HEADER: text}


def _describe(state: ServiceState, slot: ModelSlot) -> Callable[[Request], Awaitable[Response]]:
    async def describe(request: Request) -> Response:
        served = slot.current
        request.scope["podium"] = (served.name, served.version, "describe")
        await _authorize(state, request, "predict", served.name)
        return Response(served.metadata, media_type=_JSON)

    return describe


async def _authorize(state: ServiceState, request: Request, right: KeyRight, target: str = "") -> ApiKeyInfo | None:
    """The request's key when it has ``right`` on ``target``; else an ApiError (401, 403 or 503).

    Without auth (``--no-auth``) every request passes and None is returned.
    """
    checker = state.checker
    if checker is None:
        return None
    key = key_from_headers(request.headers)
    if key is None:
        raise ApiError(*MISSING, kind="auth", headers={"WWW-Authenticate": "Bearer"})
    try:
        found: KeyLookup = await checker.lookup_async(key)
    except KeyStoreUnavailable as exc:  # the key store is down and nothing recent is known of this key
        logger.error("API key check failed: %s", exc)
        raise ApiError(503, "The API key could not be checked (key store unreachable); retry.",
                       kind="auth_unavailable", headers={"Retry-After": "5"}) from None
    refusal = found.refusal(right, target)
    if refusal is not None:
        status, message = refusal
        raise ApiError(status, message, kind="auth",
                       headers={"WWW-Authenticate": "Bearer"} if status == 401 else None)
    return found.key


def _key_checker(registry: Any, options: ServeOptions, health: RegistryHealth) -> KeyChecker:
    """Keys of the registry, and of the keys file when there is one (asked first; it needs no database)."""
    key_file = KeyFile(options.keys_file) if options.keys_file else None

    def lookup(plaintext: str) -> ApiKeyInfo | None:
        found = key_file.lookup(plaintext) if key_file is not None else None
        return found if found is not None else registry.find_key(plaintext)

    return KeyChecker(lookup, ttl=options.key_cache_seconds, grace=options.registry_grace,
                      max_entries=options.key_cache_entries, on_success=health.succeeded,
                      on_failure=health.failed)


def _body_limit(options: ServeOptions, scope: Scope) -> tuple[int, str] | None:
    if scope["method"] in ("GET", "HEAD", "OPTIONS"):
        return options.max_request_bytes, "request"
    return options.max_request_bytes, "request"


async def _score(state: ServiceState, served: ServedModel, records: RecordColumns) -> Predictions:
    assert served.predictor is not None and served.batcher is not None  # _tabular has refused forecasters
    try:
        inline = served.inline and len(records) <= _INLINE_ROWS
        results = served.predictor.predict(records) if inline else await served.batcher.submit(records)
    except Overloaded as exc:  # shed load: the queue is full; a retry soon will likely get in
        raise ApiError(503, f"The model '{served.name}' is busy ({exc}); retry in a second.",
                       kind="overloaded", headers={"Retry-After": "1"}) from None
    except Exception as exc:  # noqa: BLE001  input the pipeline cannot take is the caller's problem
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ApiError(422, f"The model could not score this input: {type(exc).__name__}: {text[:300]}",
                       kind="scoring") from None
    assert isinstance(results, Predictions)
    state.metrics.observe_predictions(served.name, results)
    return results


def _parse_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:  # valid JSON orjson refuses: integers beyond 64 bits
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, f"The body is not valid JSON: {exc}. Send a JSON object.",
                       kind="malformed") from None


def _invalid(exc: ValidationError) -> ApiError:
    errors = exc.errors(include_url=False, include_input=False)
    if errors and errors[0]["type"] == "json_invalid":
        return ApiError(400, f"The body is not valid JSON: {errors[0]['msg']}. Send a JSON object.",
                        kind="malformed")
    fields = [{"field": _where(e["loc"]), "message": e["msg"], "type": e["type"]} for e in errors]
    shown = "; ".join(f"'{f['field']}': {f['message']}" for f in fields[:5])
    more = f" (and {len(fields) - 5} more)" if len(fields) > 5 else ""
    return ApiError(422, f"Invalid input: {shown}{more}.", kind="validation", errors=fields)


def _where(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


# -- service endpoints --------------------------------------------------------------------------
def _add_service_routes(app: FastAPI, state: ServiceState) -> None:
    @app.get("/healthz", tags=["service"], summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["service"], summary="Readiness: the models are loaded, the registry reachable",
             responses={503: {"description": "not ready (starting, stopping, or the registry gone too long)"}})
    async def readyz() -> Response:
        models = {name: slot.current.version for name, slot in state.slots.items()}
        health, reason = state.health.state()
        ready = state.ready and health != "down"
        status = ("degraded" if health == "degraded" else "ready") if ready else "not ready"
        body: dict[str, Any] = {"status": status, "models": models, "worker": os.getpid()}
        if reason:
            body["reason"] = reason
        return Response(orjson.dumps(body), status_code=200 if ready else 503, media_type=_JSON)

    async def metrics(request: Request) -> Response:
        if state.options.protect_docs:
            await _authorize_any(state, request)
        body = await asyncio.get_running_loop().run_in_executor(None, state.metrics.exposition)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    app.add_api_route("/metrics", metrics, methods=["GET"], tags=["service"], summary="Prometheus metrics",
                      response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})

    @app.get("/v1/models", tags=["service"], summary="The models served here",
             responses={k: v for k, v in _ERRORS.items() if k in (401, 503)})
    async def list_models(request: Request) -> Response:
        request.scope["podium"] = ("", 0, "list")
        listed = []
        for name, slot in state.slots.items():
            if state.checker is not None:
                try:
                    await _authorize(state, request, "predict", name)
                except ApiError as exc:
                    if exc.status == 403:
                        continue
                    raise
            served = slot.current
            entry: dict[str, Any] = {"name": name, "version": served.version, "ref": slot.ref,
                                     "task": served.task, "engine": served.engine}
            if served.forecast is not None:
                entry["forecast"] = f"/v1/models/{name}/forecast"
            else:
                entry |= {"predict": f"/v1/models/{name}/predict", "batch": f"/v1/models/{name}/predict/batch"}
            listed.append(entry)
        return Response(orjson.dumps({"models": listed}), media_type=_JSON)


# -- Swagger UI, from the files shipped in podium.serving (no CDN: /docs works air-gapped) --------
_SWAGGER_DIR = Path(__file__).resolve().parent / "static" / "swagger-ui"
DOCS_ASSETS = "/docs/assets"


def _add_docs_routes(app: FastAPI, state: ServiceState) -> None:
    """``/docs`` and, with ``--protect-docs``, an ``/openapi.json`` that needs a valid key."""
    app.mount(DOCS_ASSETS, StaticFiles(directory=_SWAGGER_DIR), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> Response:
        if state.options.protect_docs:
            await _authorize_any(state, request)
        return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{app.title} - docs",
                                   swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
                                   swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
                                   swagger_ui_parameters={"validatorUrl": None})  # no call to swagger.io

    if state.options.protect_docs:  # FastAPI's own /openapi.json is off (openapi_url=None)
        @app.get("/openapi.json", include_in_schema=False)
        async def openapi(request: Request) -> Response:
            await _authorize_any(state, request)
            return Response(orjson.dumps(app.openapi()), media_type=_JSON)


async def _authorize_any(state: ServiceState, request: Request) -> None:
    """Any valid, active key (the right to read what the service publishes about itself)."""
    if state.checker is None:
        return
    try:
        await _authorize(state, request, "predict", "")
    except ApiError as exc:
        if exc.status != 403:  # a key with rights on some models only may still read the docs
            raise


# -- errors -------------------------------------------------------------------------------------
def _add_error_handlers(app: FastAPI, state: ServiceState) -> None:
    def respond(request: Request, status: int, detail: str, errors: Any = None,
                headers: dict[str, str] | None = None) -> Response:
        body: dict[str, Any] = {"detail": detail, "request_id": request.scope.get("podium_request_id")}
        if errors:
            body["errors"] = errors
        return Response(orjson.dumps(body), status_code=status, media_type=_JSON, headers=headers)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        model = request.scope.get("podium", ("",))[0]
        state.metrics.errors.labels(model, exc.kind).inc()
        return respond(request, exc.status, exc.detail, exc.errors, exc.headers)

    @app.exception_handler(BodyTooLarge)
    async def too_large(request: Request, exc: BodyTooLarge) -> Response:
        model = request.scope.get("podium", ("",))[0]
        state.metrics.errors.labels(model, "too_large").inc()
        return respond(request, 413, str(exc), headers={"Connection": "close"})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = str(exc.detail)
        if exc.status_code == 404:
            detail = f"No such endpoint: {request.url.path}. See /docs for what is served."
        elif exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}. See /docs."
        return respond(request, exc.status_code, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        fields = [{"field": _where(e.get("loc", ())), "message": str(e.get("msg", "")),
                   "type": str(e.get("type", ""))} for e in exc.errors()]
        return respond(request, 422, "Invalid request.", fields)

    @app.exception_handler(ClientDisconnect)
    async def disconnected(request: Request, exc: ClientDisconnect) -> Response:
        # the client went away before its body arrived: nobody to answer, nothing wrong here
        state.metrics.errors.labels(request.scope.get("podium", ("",))[0], "disconnected").inc()
        return Response(status_code=CLIENT_CLOSED)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> Response:
        logger.exception("unexpected error on %s", request.url.path)
        state.metrics.errors.labels(request.scope.get("podium", ("",))[0], "internal").inc()
        return respond(request, 500, "Internal error; the request id identifies it in the log.")


# -- observability: request id, metrics and the access log, for every request -------------------
class ObserveMiddleware:
    """Pure ASGI middleware: cheaper per request than Starlette's BaseHTTPMiddleware."""

    def __init__(self, app: ASGIApp, *, state: ServiceState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = None
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                text = value.decode("latin-1")
                rid = text if _REQUEST_ID.match(text) else None
                break
        rid = rid or f"{random.getrandbits(128):032x}"  # unique enough, and no system call
        scope["podium_request_id"] = rid
        header = (b"x-request-id", rid.encode())
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            model, version, endpoint = scope.get("podium", ("", 0, _endpoint(scope["path"])))
            self.state.metrics.observe_request(model, endpoint, status, seconds)
            if self.state.access_log.enabled:
                self.state.access_log.write({
                    "time": time.time(), "request_id": rid, "method": scope["method"],
                    "path": scope["path"], "status": status, "ms": round(seconds * 1000, 3),
                    "model": model or None, "version": version or None,
                    "client": (scope.get("client") or ("",))[0]})


def _endpoint(path: str) -> str:
    known = {"/healthz": "healthz", "/readyz": "readyz", "/metrics": "metrics",
             "/openapi.json": "openapi", "/docs": "docs", "/v1/models": "list"}
    return known.get(path, "other")


# -- OpenAPI ------------------------------------------------------------------------------------
def _openapi(app: FastAPI, state: ServiceState) -> dict[str, Any]:
    key = tuple((name, slot.current.version) for name, slot in state.slots.items())
    if app.openapi_schema is not None and key == state.openapi_key:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description,
                         routes=app.routes)
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    auth = state.checker is not None
    if auth:
        components["securitySchemes"] = SECURITY_SCHEMES
    paths = schema.setdefault("paths", {})
    for name, slot in state.slots.items():
        served = slot.current
        schemas.update(served.component_schemas())
        title = served.title
        routes: list[tuple[str, str, str | None, str | None]] = [(f"/v1/models/{name}", "get", None, None)]
        if served.forecast is not None:  # each model documents the endpoints of its kind only
            paths.pop(f"/v1/models/{name}/predict", None)
            paths.pop(f"/v1/models/{name}/predict/batch", None)
            request_model, response_model = served.forecast.names
            routes.append((f"/v1/models/{name}/forecast", "post", request_model, response_model))
        else:
            paths.pop(f"/v1/models/{name}/forecast", None)
            routes += [(f"/v1/models/{name}/predict", "post", f"{title}Input", f"{title}Prediction"),
                       (f"/v1/models/{name}/predict/batch", "post", f"{title}Batch", f"{title}BatchPrediction")]
        for path, method, body, answer in routes:
            operation = paths.get(path, {}).get(method)
            if operation is None:
                continue
            if body is not None:
                operation["requestBody"] = {"required": True, "content": {
                    _JSON: {"schema": {"$ref": f"#/components/schemas/{body}"}}}}
                operation["responses"]["200"] = {"description": "the forecast" if path.endswith("/forecast")
                                                 else "the prediction", "content": {
                    _JSON: {"schema": {"$ref": f"#/components/schemas/{answer}"}}}}
            else:
                operation["responses"]["200"] = {"description": "the model's metadata", "content": {
                    _JSON: {"schema": {"type": "object", "additionalProperties": True}}}}
            if auth:
                operation["security"] = [{"bearer": []}, {"apiKey": []}]
            else:
                for code in ("401", "403", "503"):
                    operation["responses"].pop(code, None)
    if auth and "/v1/models" in paths:
        paths["/v1/models"]["get"]["security"] = [{"bearer": []}, {"apiKey": []}]
    app.openapi_schema = schema
    state.openapi_key = key
    return schema


def _prediction_writer(registry: Any, rate: float, url: str | None = None,
                       policy: PredictionLogSettings | None = None) -> Callable[[list[dict[str, Any]]], Any] | None:
    if rate <= 0:
        return None
    from podium.registry.predictions import PredictionLog

    if url:  # a database of its own: a mounted volume, or a remote one (the registry may be read-only)
        return PredictionLog(url, policy=policy).append
    engine = getattr(registry, "engine", None) or getattr(registry, "registry_url", None)
    if engine is None:
        logger.warning("prediction logging is off: the registry exposes no database engine")
        return None
    return PredictionLog(engine, policy=policy).append


def _podium_version() -> str:
    import podium

    return podium.__version__
