"""The prediction log: a sample of what each service saw and answered, in the registry DB.

One table, ``prediction_log`` (time, model, version, request id, inputs and outputs as JSON),
in the registry's database and schema. Services append to it; monitoring
and drift checks read it back as a frame. What it keeps follows ``PredictionLogSettings``
(``prediction_log:`` in podium.yaml): named input columns are dropped or logged as a keyed
hash before they are written, and rows past ``keep_days`` or beyond ``keep_rows`` a model
are deleted (``prune``, which appending runs about once a minute).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Column,
    Engine,
    Integer,
    String,
    Table,
    delete,
    insert,
    select,
)

from podium.config import PredictionLogSettings, resolve_secrets
from podium.registry.engine import WRITE_OPTION, create_registry_engine
from podium.registry.migrate import ensure_schema
from podium.registry.tables import JSONText, UTCDateTime, metadata

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PredictionLog", "prediction_log_table"]

logger = logging.getLogger("podium.registry")

prediction_log_table = Table(
    "prediction_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("time", UTCDateTime, nullable=False, index=True),
    Column("model", String(200), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("request_id", String(128), nullable=False),
    Column("inputs", JSONText, nullable=False),
    Column("outputs", JSONText, nullable=False),
)


class PredictionLog:
    """Appends sampled predictions and reads them back (``engine``: the registry's, or a URL).

    ``policy`` says which inputs are dropped or hashed and how long rows are kept.
    """

    def __init__(self, engine: Engine | str, *, policy: PredictionLogSettings | None = None,
                 prune_every: float = 60.0) -> None:
        self.engine = create_registry_engine(engine) if isinstance(engine, str) else engine
        self.policy = policy or PredictionLogSettings()
        key = self.policy.hash_key and resolve_secrets(self.policy.hash_key, where="prediction_log.hash_key")
        self._hash_key = str(key).encode() if key else None
        self.prune_every = prune_every
        self._pruned_at: float | None = None
        self._ready = False
        self._lock = threading.Lock()

    def _ensure_table(self) -> None:
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            ensure_schema(self.engine)
            self._ready = True

    def append(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Write records (time, model, version, request_id, inputs, outputs); returns how many."""
        rows = [{
            "time": r.get("time") or datetime.now(UTC),
            "model": str(r["model"]),
            "version": int(r["version"]),
            "request_id": str(r.get("request_id", ""))[:128],
            "inputs": self._kept(r.get("inputs") or {}),
            "outputs": dict(r.get("outputs") or {}),
        } for r in records]
        if not rows:
            return 0
        self._ensure_table()
        with self.engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
            conn.execute(insert(prediction_log_table), rows)
        if self._pruned_at is None or time.monotonic() - self._pruned_at >= self.prune_every:
            try:
                self.prune()
            except Exception as exc:  # noqa: BLE001  the rows are written; pruning is tried again later
                logger.warning("could not prune the prediction log: %s", exc)
        return len(rows)

    def prune(self, *, now: datetime | None = None) -> int:
        """Delete the rows the policy no longer keeps (too old, or beyond ``keep_rows`` a model)."""
        self._ensure_table()
        self._pruned_at = time.monotonic()
        t, deleted = prediction_log_table, 0
        with self.engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
            if self.policy.keep_days is not None:
                oldest = (now or datetime.now(UTC)) - timedelta(days=self.policy.keep_days)
                deleted += conn.execute(delete(t).where(t.c.time < oldest)).rowcount or 0
            if self.policy.keep_rows is not None:
                for model in conn.execute(select(t.c.model).distinct()).scalars().all():
                    cutoff = conn.execute(select(t.c.id).where(t.c.model == model).order_by(t.c.id.desc())
                                          .offset(self.policy.keep_rows).limit(1)).scalar()
                    if cutoff is not None:
                        deleted += conn.execute(delete(t).where(t.c.model == model, t.c.id <= cutoff)).rowcount or 0
        return deleted

    def _kept(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The inputs as the policy logs them: dropped columns left out, hashed ones as ``sha256:…``."""
        drop, hashed = set(self.policy.drop), set(self.policy.hash)
        return {k: self._hashed(v) if k in hashed else v for k, v in inputs.items() if k not in drop}

    def _hashed(self, value: Any) -> str | None:
        if value is None:
            return None
        data = str(value).encode()
        digest = (hmac.new(self._hash_key, data, hashlib.sha256) if self._hash_key else hashlib.sha256(data))
        return f"sha256:{digest.hexdigest()[:32]}"

    def read(self, model: str, *, version: int | None = None, since: datetime | None = None,
             limit: int | None = 10_000) -> list[dict[str, Any]]:
        """The logged predictions of ``model``, oldest first, inputs and outputs decoded."""
        self._ensure_table()
        t = prediction_log_table
        query = select(t).where(t.c.model == model).order_by(t.c.id)
        if version is not None:
            query = query.where(t.c.version == version)
        if since is not None:
            query = query.where(t.c.time >= since)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [{"time": r["time"], "model": r["model"], "version": r["version"],
                 "request_id": r["request_id"], "inputs": r["inputs"], "outputs": r["outputs"]}
                for r in rows]

    def frame(self, model: str, **filters: Any) -> pd.DataFrame:
        """The logged inputs as a table (one column per feature) with the outputs beside them."""
        import pandas as pd

        records = self.read(model, **filters)
        if not records:
            return pd.DataFrame()
        inputs = pd.DataFrame([r["inputs"] for r in records])
        outputs = pd.json_normalize([r["outputs"] for r in records])
        meta = pd.DataFrame({k: [r[k] for r in records] for k in ("time", "version", "request_id")})
        return pd.concat([meta, inputs, outputs.add_prefix("output.")], axis=1)

