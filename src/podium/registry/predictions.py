"""The prediction log: a sample of what each service saw and answered, in the registry DB.

One table, ``prediction_log`` (time, model, version, request id, inputs and outputs as JSON),
in the registry's database and schema. Services append to it; monitoring
and drift checks read it back as a frame.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Column,
    Engine,
    Integer,
    String,
    Table,
    insert,
    select,
)

from podium.registry.engine import WRITE_OPTION, create_registry_engine
from podium.registry.migrate import ensure_schema
from podium.registry.tables import JSONText, UTCDateTime, metadata

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PredictionLog", "prediction_log_table"]

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
    """Appends sampled predictions and reads them back (``engine``: the registry's, or a URL)."""

    def __init__(self, engine: Engine | str) -> None:
        self.engine = create_registry_engine(engine) if isinstance(engine, str) else engine
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
            "inputs": dict(r.get("inputs") or {}),
            "outputs": dict(r.get("outputs") or {}),
        } for r in records]
        if not rows:
            return 0
        self._ensure_table()
        with self.engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
            conn.execute(insert(prediction_log_table), rows)
        return len(rows)

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

