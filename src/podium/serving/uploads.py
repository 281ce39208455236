"""``POST /v1/datasets/{name}/versions``: upload a CSV or Parquet file as a dataset version.

The body is the file itself (``Content-Type: text/csv``, or ``application/vnd.apache.parquet``
/ ``application/octet-stream`` for Parquet; without a type, Parquet is recognised by its
magic bytes). It is read as ``podium datasets upload`` reads a file, then stored with
``DatasetStore.upload``: 201 with the new version, or 200 with ``"unchanged": true`` when the
content equals the latest version. Any valid, non-revoked API key may upload.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

from podium.errors import IntegrityError, PodiumError
from podium.serving.app import _ERRORS, ApiError, ErrorBody, ServiceState, _authorize

__all__ = ["MAX_UPLOAD_BYTES", "add_upload_routes"]

MAX_UPLOAD_BYTES = 512 * 1024 * 1024
_JSON = "application/json"
_PARQUET_TYPES = ("application/vnd.apache.parquet", "application/x-parquet", "application/parquet",
                  "application/octet-stream")
_CSV_TYPES = ("text/csv", "application/csv", "text/plain")
_PARQUET_MAGIC = b"PAR1"


def add_upload_routes(app: FastAPI, state: ServiceState, registry: Any) -> None:
    """Add the upload endpoint; the dataset store is opened on first use."""
    store: list[Any] = []

    def datasets() -> Any:
        if not store:
            from podium.registry.datasets import DatasetStore

            store.append(DatasetStore(registry))
        return store[0]

    async def upload(request: Request, name: str) -> Response:
        request.scope["podium"] = ("", 0, "upload")
        creator = await _uploader(state, request, registry)
        if int(request.headers.get("content-length") or 0) > MAX_UPLOAD_BYTES:
            raise _too_large()
        body = await request.body()
        if len(body) > MAX_UPLOAD_BYTES:
            raise _too_large()
        suffix = _suffix(request.headers.get("content-type"), body)
        loop = asyncio.get_running_loop()
        version = await loop.run_in_executor(None, _store, datasets(), name, body, suffix, creator)
        if version is None:
            payload: dict[str, Any] = {"dataset": name, "version": None, "unchanged": True}
            return Response(orjson.dumps(payload), status_code=200, media_type=_JSON)
        payload = {"dataset": name, "version": version.version, "rows": version.rows,
                   "drifted": version.drifted, "drifted_columns": version.drifted_columns}
        return Response(orjson.dumps(payload), status_code=201, media_type=_JSON)

    responses = {k: v for k, v in _ERRORS.items() if k in ((400, 401, 503) if state.checker else (400,))}
    responses[413] = {"model": ErrorBody, "description": "the file is larger than the limit"}
    app.add_api_route(
        "/v1/datasets/{name}/versions", upload, methods=["POST"], tags=["datasets"],
        operation_id="upload_dataset_version", summary="Upload a CSV or Parquet file as a dataset version",
        status_code=201, responses={
            **responses,
            200: {"description": "same content as the latest version: no new version"},
            201: {"description": "the new version: number, rows, drift against the previous one"}},
        openapi_extra={
            "requestBody": {"required": True, "content": {
                "text/csv": {"schema": {"type": "string", "minLength": 1}},
                "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary", "minLength": 1}}}},
            **({"security": [{"bearer": []}, {"apiKey": []}]} if state.checker is not None else {})})


async def _uploader(state: ServiceState, request: Request, registry: Any) -> str:
    """``http:<key name>``, ``http:anonymous`` without auth; refuses a missing, unknown or revoked key."""
    if state.checker is None:
        return "http:anonymous"
    try:
        await _authorize(state, request, "*")  # "*": a key for every model; others answer forbidden
    except ApiError as exc:
        if exc.status != 403:  # a valid key limited to some models may still upload
            raise
    loop = asyncio.get_running_loop()
    name = await loop.run_in_executor(None, _key_name, registry, request)
    return f"http:{name}"


def _key_name(registry: Any, request: Request) -> str:
    from podium.serving.auth import key_from_headers

    key = key_from_headers(request.headers) or ""
    try:
        keys = [k for k in registry.list_keys() if k.active and key.startswith(k.prefix)]
    except Exception:  # noqa: BLE001  a name is only a label: a registry without one records "key"
        return "key"
    return keys[0].name if len(keys) == 1 else "key"


def _suffix(content_type: str | None, body: bytes) -> str:
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind in _CSV_TYPES:
        return ".csv"
    if kind in _PARQUET_TYPES or (not kind and body.startswith(_PARQUET_MAGIC)):
        return ".parquet"
    if not kind:
        return ".csv"
    raise ApiError(415, f"Content-Type {kind} is not accepted: send text/csv or application/vnd.apache.parquet.",
                   kind="media_type")


def _store(store: Any, name: str, body: bytes, suffix: str, creator: str) -> Any:
    from podium.data import resolve_source

    if not body.strip():
        raise ApiError(400, "The body is empty: send the file's content.", kind="malformed")
    if suffix == ".parquet" and not (body.startswith(_PARQUET_MAGIC) and body.endswith(_PARQUET_MAGIC)):
        raise ApiError(400, "The body is not a Parquet file. Send Parquet, or CSV with Content-Type: text/csv.",
                       kind="malformed")
    if suffix == ".csv":
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ApiError(400, f"The body is not UTF-8 text ({exc.reason} at byte {exc.start}); "
                           "send a UTF-8 CSV file or Parquet.", kind="malformed") from None
    with tempfile.TemporaryDirectory(prefix="podium-upload-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(body)
        try:
            frame = resolve_source(str(path)).read()
        except Exception as exc:  # noqa: BLE001  whatever the reader says, the file is the caller's problem
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            kind = "CSV" if suffix == ".csv" else "Parquet"
            raise ApiError(400, f"The body is not a readable {kind} file: {text[:300]}", kind="malformed") from None
    if len(frame) == 0 or len(frame.columns) == 0:
        raise ApiError(400, "The file has no rows: send a header line and at least one row.", kind="malformed")
    try:
        return store.upload(name, frame, creator=creator)
    except IntegrityError:
        raise
    except PodiumError as exc:
        raise ApiError(400, str(exc), kind="invalid") from None


def _too_large() -> ApiError:
    return ApiError(413, f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB; "
                    "upload it with podium datasets upload instead.", kind="too_large")
