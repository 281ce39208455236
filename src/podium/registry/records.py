"""What the registry answers with: plain, immutable records (``dataclasses.asdict`` gives JSON-able dicts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

__all__ = ["RunInfo", "ModelVersionInfo", "ModelInfo", "ApiKeyInfo", "EventRecord", "RunStatus",
           "TrialStatus", "KeyVerdict", "KeyRight", "RUN_STATUSES", "TRIAL_STATUSES", "PromotionRecord",
           "PROMOTION_STATES", "FINAL_PROMOTION_STATES"]

RunStatus = Literal["running", "succeeded", "not_promoted", "awaiting_approval", "gate_failed", "failed"]
TrialStatus = Literal["ok", "failed", "timeout", "excluded"]
KeyVerdict = Literal["ok", "unknown", "revoked", "forbidden"]
#: what a key may be allowed to do: predict with a model, upload to a dataset, administer
KeyRight = Literal["predict", "upload", "admin"]

RUN_STATUSES: tuple[str, ...] = ("running", "succeeded", "not_promoted", "awaiting_approval", "gate_failed", "failed")
#: a promotion is ``decided`` before its challenger is registered, ``registered`` once it is,
#: then ends ``promoted``, ``kept`` (the champion stays), ``superseded`` (the alias moved
#: meanwhile), ``abandoned`` (never registered) — or waits, ``awaiting_approval``, for a person
PROMOTION_STATES: tuple[str, ...] = ("decided", "registered", "awaiting_approval", "promoted", "kept",
                                     "superseded", "abandoned")
FINAL_PROMOTION_STATES = frozenset({"promoted", "kept", "superseded", "abandoned"})
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
    owner: str | None = None  # the process that runs (ran) it


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
    uploads: list[str] = field(default_factory=list)
    admin: bool = False

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def allows(self, right: KeyRight, target: str = "") -> bool:
        """Whether the key may ``predict`` with model ``target``, ``upload`` to dataset
        ``target``, or ``admin`` (target unused). "*" in a list means every name."""
        if right == "admin":
            return self.admin
        names = self.models if right == "predict" else self.uploads
        return "*" in names or target in names

    def refusal(self, right: KeyRight, target: str = "") -> str | None:
        """None when the key has the right, else one sentence that names the missing right."""
        if self.allows(right, target):
            return None
        if right == "admin":
            return ("This key may not administer (it has no admin right; "
                    "an admin key is made with: podium keys create --name NAME --admin).")
        names = self.models if right == "predict" else self.uploads
        held = ", ".join(names) if names else "none"
        if right == "predict":
            return f"This key may not use model '{target}' (it has predict rights on: {held})."
        return f"This key may not upload to dataset '{target}' (it has upload rights on: {held})."


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


@dataclass(frozen=True)
class PromotionRecord:
    """A champion/challenger decision and how far acting on it went (see ``PROMOTION_STATES``)."""

    run_id: str
    model: str
    alias: str
    dataset: str | None
    champion: int | None
    decision: str  # promote | keep | approve
    message: str
    figures: dict[str, Any]
    version: int | None
    state: str
    outcome: str | None
    notified_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @property
    def finished(self) -> bool:
        """Nothing is left to do but, perhaps, to tell someone."""
        return self.state in FINAL_PROMOTION_STATES
