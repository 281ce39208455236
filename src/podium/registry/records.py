"""What the registry answers with: plain, immutable records (``dataclasses.asdict`` gives JSON-able dicts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

__all__ = ["RunInfo", "ModelVersionInfo", "ModelInfo", "ApiKeyInfo", "EventRecord", "RunStatus",
           "TrialStatus", "KeyVerdict", "RUN_STATUSES", "TRIAL_STATUSES"]

RunStatus = Literal["running", "succeeded", "not_promoted", "gate_failed", "failed"]
TrialStatus = Literal["ok", "failed", "timeout", "excluded"]
KeyVerdict = Literal["ok", "unknown", "revoked", "forbidden"]

RUN_STATUSES: tuple[str, ...] = ("running", "succeeded", "not_promoted", "gate_failed", "failed")
TRIAL_STATUSES: tuple[str, ...] = ("ok", "failed", "timeout", "excluded")


@dataclass(frozen=True)
class RunInfo:
    """One pipeline run: what it was asked, on which data, and how it ended."""

    id: str
    name: str
    status: str
    spec: dict[str, Any]
    task: str | None
    metric: str | None
    dataset_fingerprint: str | None
    source: str | None
    started_at: datetime
    finished_at: datetime | None
    summary: dict[str, Any] | None
    error: str | None


@dataclass(frozen=True)
class ModelVersionInfo:
    """One registered (immutable) model version and the aliases pointing at it."""

    name: str
    version: int
    run_id: str | None
    artifact_key: str
    checksum: str | None
    metric: str | None
    score: float | None
    created_at: datetime
    aliases: list[str] = field(default_factory=list)

    @property
    def ref(self) -> str:
        """The pinned reference, ``name:version``."""
        return f"{self.name}:{self.version}"


@dataclass(frozen=True)
class ModelInfo:
    """A registered model: its latest version, its aliases and its headline score.

    ``metric``/``score`` are those of the version ``name`` resolves to (champion, else latest).
    """

    name: str
    latest_version: int
    versions: int
    aliases: dict[str, int]
    metric: str | None
    score: float | None
    created_at: datetime
    description: str | None = None


@dataclass(frozen=True)
class ApiKeyInfo:
    """An API key as listed: never its secret, only the first characters to recognise it."""

    id: str
    name: str
    prefix: str
    models: list[str]
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class EventRecord:
    """A recorded decision or act (registration, alias move, promotion, gate) with its figures."""

    id: int
    time: datetime
    kind: str
    run_id: str | None
    model: str | None
    version: int | None
    payload: dict[str, Any]
