"""Running model services, as they report themselves: one row per ``podium serve``.

A service registers when its first worker starts and every worker renews its heartbeat while
it runs, with the versions it answers with. Nothing marks a service stopped (a killed one
could not): a reader judges it by the age of its heartbeat (and may ask the service itself).
Rows whose heartbeat is older than a day are removed when a service registers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Boolean, Column, Integer, String, Table, Text, delete, insert, select, update

from podium.registry.tables import JSONText, RegistryTables, UTCDateTime, metadata

__all__ = ["ServiceStore", "ServiceRecord", "FORGET_AFTER"]

#: a service silent for longer than this is removed from the table
FORGET_AFTER = timedelta(days=1)

services_table = Table(
    "services",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("url", Text, nullable=False),
    Column("host", String(200), nullable=False),  # the machine it runs on
    Column("pid", Integer, nullable=False),  # its supervisor's process id there
    Column("refs", JSONText, nullable=False),  # what it was asked to serve: ["churn@champion"]
    Column("models", JSONText, nullable=False),  # what it answers with: [{"ref", "name", "version"}]
    Column("workers", Integer, nullable=False),
    Column("auth", Boolean, nullable=False),
    Column("heartbeat_seconds", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("heartbeat_at", UTCDateTime, nullable=False),
)


@dataclass(frozen=True)
class ServiceRecord:
    """A running (or lately running) model service."""

    id: str
    url: str
    host: str
    pid: int
    refs: list[str]
    models: list[dict[str, Any]]
    workers: int
    auth: bool
    heartbeat_seconds: int
    started_at: datetime
    heartbeat_at: datetime

    def silent_for(self, now: datetime | None = None) -> float:
        """Seconds since its last heartbeat."""
        return ((now or datetime.now(timezone.utc)) - self.heartbeat_at).total_seconds()

    @property
    def alive(self) -> bool:
        """Whether it beat lately (three heartbeats may be missed: a busy or restarting worker)."""
        return self.silent_for() <= 3 * self.heartbeat_seconds + 5


class ServiceStore(RegistryTables):
    """The services table, in the registry's database."""

    def beat(self, service_id: str, *, url: str, host: str, pid: int, refs: Sequence[str],
             models: Sequence[Mapping[str, Any]], workers: int, auth: bool, heartbeat_seconds: int) -> ServiceRecord:
        """Register the service, or renew its heartbeat and the versions it answers with."""
        now = datetime.now(timezone.utc)
        values: dict[str, Any] = {"url": url, "host": host, "pid": pid, "refs": list(refs),
                                  "models": [dict(m) for m in models], "workers": workers, "auth": auth,
                                  "heartbeat_seconds": heartbeat_seconds, "heartbeat_at": now}
        with self._write() as conn:
            renewed = conn.execute(update(services_table).where(services_table.c.id == service_id)
                                   .values(**values)).rowcount
            if not renewed:
                conn.execute(delete(services_table).where(services_table.c.heartbeat_at < now - FORGET_AFTER))
                conn.execute(insert(services_table).values(id=service_id, started_at=now, **values))
        return self.get(service_id)

    def forget(self, service_id: str) -> None:
        """Remove a service (it stopped)."""
        with self._write() as conn:
            conn.execute(delete(services_table).where(services_table.c.id == service_id))

    def get(self, service_id: str) -> ServiceRecord:
        from podium.errors import NotFoundError

        with self._read() as conn:
            row = conn.execute(select(services_table).where(services_table.c.id == service_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"no service '{service_id}' is registered.")
        return ServiceRecord(**dict(row))

    def list(self) -> list[ServiceRecord]:
        """Every service heard from within a day, the latest started first."""
        since = datetime.now(timezone.utc) - FORGET_AFTER
        with self._read() as conn:
            rows = conn.execute(select(services_table).where(services_table.c.heartbeat_at >= since)
                                .order_by(services_table.c.started_at.desc())).mappings()
            return [ServiceRecord(**dict(r)) for r in rows]
