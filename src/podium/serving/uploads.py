"""``POST /v1/datasets/{name}/versions``: upload a CSV or Parquet file as a dataset version.

The body is the file itself (``Content-Type: text/csv``, or ``application/vnd.apache.parquet``
/ ``application/octet-stream`` for Parquet; without a type, Parquet is recognised by its
magic bytes). It is streamed to a private temporary file (never held whole in memory, and
capped at ``max_upload_bytes`` while it is read: 413), read as ``podium datasets upload``
reads a file, then stored with ``DatasetStore.upload``: 201 with the new version, or 200 with
``"unchanged": true`` when the content equals the latest version.

An upload needs a key with the upload right on that dataset (``podium keys create --upload
NAME``): a new version can start a retraining and a promotion, so it is never anonymous. A
service run with ``--no-auth`` refuses uploads (403). Reading and storing run on a thread
pool of their own, so a large upload never delays key checks or predictions.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

from podium.errors import IntegrityError, PodiumError
from podium.registry.refs import check_name
from podium.serving.app import _ERRORS, ApiError, ErrorBody, ServiceState, _authorize

__all__ = ["add_upload_routes"]

_JSON = "application/json"
_PARQUET_TYPES = ("application/vnd.apache.parquet", "application/x-parquet", "application/parquet",
                  "application/octet-stream")
_CSV_TYPES = ("text/csv", "application/csv", "text/plain")
_PARQUET_MAGIC = b"PAR1"
_FLUSH_BYTES = 1 << 20  # chunks are written to disk in pieces of about this size
_UPLOAD_THREADS = 2


def add_upload_routes(app: FastAPI, state: ServiceState, registry: Any) -> None:
    """Add the upload endpoint; the dataset store is opened on first use."""
    store: list[Any] = []
    pool: list[ThreadPoolExecutor] = []

    def datasets() -> Any:
        if not store:
            from podium.registry.datasets import DatasetStore

            store.append(DatasetStore(registry))
        return store[0]

    def executor() -> ThreadPoolExecutor:
        if not pool:
            pool.append(ThreadPoolExecutor(_UPLOAD_THREADS, thread_name_prefix="podium-upload"))
        return pool[0]

    async def upload(request: Request, name: str) -> Response:
        request.scope["podium"] = ("", 0, "upload")
        if state.checker is None:
            raise ApiError(403, "This service runs without API keys (--no-auth), so it takes no uploads: "
                           "a new dataset version can retrain and promote a model. Serve with keys and "
                           "upload with a key made by: podium keys create --name NAME --upload DATASET.",
                           kind="auth")
        try:
            check_name(name, "dataset name")
        except PodiumError as exc:
            raise ApiError(400, str(exc), kind="invalid") from None
        key = await _authorize(state, request, "upload", name)
        creator = f"http:{key.name if key is not None else 'key'}"
        content_type = request.headers.get("content-type")
        declared = _suffix(content_type, b"") if content_type else None  # a 415 before the body is read
        loop = asyncio.get_running_loop()
        path = await _receive_to_file(request, loop, executor())
        try:
            suffix = declared if declared is not None else await loop.run_in_executor(
                executor(), _suffix_of, None, path)
            version = await loop.run_in_executor(executor(), _store, datasets(), name, path, suffix, creator)
        finally:
            path.unlink(missing_ok=True)
        if version is None:
            payload: dict[str, Any] = {"dataset": name, "version": None, "unchanged": True}
            return Response(orjson.dumps(payload), status_code=200, media_type=_JSON)
        payload = {"dataset": name, "version": version.version, "rows": version.rows,
                   "drifted": version.drifted, "drifted_columns": version.drifted_columns}
        return Response(orjson.dumps(payload), status_code=201, media_type=_JSON)

    responses: dict[int | str, dict[str, Any]] = {k: v for k, v in _ERRORS.items() if k in (400, 401, 403, 503)}
    responses[403] = {"model": ErrorBody, "description": "the key has no upload right on this dataset "
                                                         "(or the service runs without keys)"}
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


async def _receive_to_file(request: Request, loop: asyncio.AbstractEventLoop, executor: ThreadPoolExecutor) -> Path:
    """The body streamed into a private temporary file (the size cap is the BodyLimit middleware's)."""
    fd, name = tempfile.mkstemp(prefix="podium-upload-")  # mode 0600
    path = Path(name)
    handle: IO[bytes] = os.fdopen(fd, "wb")
    try:
        pending: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            pending.append(chunk)
            size += len(chunk)
            if size >= _FLUSH_BYTES:
                await loop.run_in_executor(executor, handle.write, b"".join(pending))
                pending, size = [], 0
        if pending:
            await loop.run_in_executor(executor, handle.write, b"".join(pending))
        handle.close()
    except BaseException:
        handle.close()
        path.unlink(missing_ok=True)
        raise
    return path


def _suffix_of(content_type: str | None, path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(4)
    return _suffix(content_type, head)


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


def _store(store: Any, name: str, path: Path, suffix: str, creator: str) -> Any:
    from podium.data.source import resolve_source

    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(4096)
        f.seek(max(0, size - 4))
        tail = f.read(4)
    if not head.strip():
        raise ApiError(400, "The body is empty: send the file's content.", kind="malformed")
    if suffix == ".parquet" and not (head.startswith(_PARQUET_MAGIC) and tail == _PARQUET_MAGIC):
        raise ApiError(400, "The body is not a Parquet file. Send Parquet, or CSV with Content-Type: text/csv.",
                       kind="malformed")
    if suffix == ".csv":
        _check_utf8(path)
    with tempfile.TemporaryDirectory(prefix="podium-upload-") as tmp:
        named = Path(tmp) / f"upload{suffix}"
        os.replace(path, named)
        try:
            frame = resolve_source(str(named)).read()
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


def _check_utf8(path: Path) -> None:
    """A 400 naming the byte where the file stops being UTF-8 (read in pieces, not whole)."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise ApiError(400, f"The body is not UTF-8 text ({exc.reason} at byte {offset + exc.start}); "
                               "send a UTF-8 CSV file or Parquet.", kind="malformed") from None
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise ApiError(400, f"The body is not UTF-8 text ({exc.reason} at byte {offset + exc.start}); "
                           "send a UTF-8 CSV file or Parquet.", kind="malformed") from None
