"""Typed answers of the console API, so that /api/openapi.json describes them and the web app's
client types (web/src/schema.d.ts, generated from it) follow the server."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

__all__ = ["TryRecord", "TryAnswer", "Column", "Columns", "BindingOut", "PipelineSummary", "SavedVersion", "SavedVersionYaml",
           "PipelineDetail", "Endpoint", "ColumnImportance", "Importance"]


class Column(BaseModel):
    """A source column and its inferred type."""

    name: str
    type: str


class Columns(BaseModel):
    columns: list[Column]


class BindingOut(BaseModel):
    """What runs a pipeline: new versions of ``dataset``, and the cron ``schedule`` (UTC) if any."""

    dataset: str
    schedule: str | None
    version: int | None
    bound_at: datetime


class PipelineSummary(BaseModel):
    name: str
    latest: int | None
    saved_at: datetime | None
    binding: BindingOut | None


class SavedVersion(BaseModel):
    name: str
    version: int
    saved_at: datetime
    saved_by: str | None
    saved: bool | None = None


class SavedVersionYaml(SavedVersion):
    yaml: str


class PipelineDetail(BaseModel):
    name: str
    versions: list[SavedVersion]
    binding: BindingOut | None
    jobs: list[dict[str, Any]]


class Endpoint(BaseModel):
    """A model service the registry knows of, and its health asked now."""

    id: str
    url: str
    docs_url: str
    host: str
    pid: int
    refs: list[str]
    models: list[dict[str, Any]]
    workers: int
    auth: bool
    auth_type: str
    heartbeat_seconds: int
    started_at: datetime
    heartbeat_at: datetime
    silent_seconds: float
    alive: bool
    status: str
    health: dict[str, Any]


class ColumnImportance(BaseModel):
    column: str
    importance: float
    std: float


class Importance(BaseModel):
    model: str
    version: int
    metric: str | None
    value: float
    rows: int
    repeats: int
    columns: list[ColumnImportance]
    notes: list[str]


class TryRecord(BaseModel):
    """One record for a served model, and the API key to send with it (kept nowhere)."""

    model: str
    record: dict[str, Any]
    key: str | None = None


class TryAnswer(BaseModel):
    """The service's answer: its HTTP status (None when it did not answer) and body."""

    status: int | None
    body: Any
