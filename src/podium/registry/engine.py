"""Connecting to the registry database: SQLite by default, PostgreSQL at scale.

SQLite is opened in WAL mode with a busy timeout, and a transaction that writes starts with
``BEGIN IMMEDIATE`` so that concurrent writers (several processes sharing one project) queue
for the lock instead of failing half-way. PostgreSQL URLs without a driver get psycopg 3.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from podium._internal.redact import redact_url
from podium.errors import SpecError

__all__ = ["normalize_url", "create_registry_engine", "WRITE_OPTION", "BUSY_TIMEOUT_S"]

#: the execution option that marks a connection whose transaction will write
WRITE_OPTION = "podium_write"
BUSY_TIMEOUT_S = 30
PG_CONNECT_TIMEOUT_S = 10
PG_STATEMENT_TIMEOUT_S = 120


def normalize_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` gain the psycopg 3 driver; others are kept."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def create_registry_engine(url: str, *, echo: bool = False) -> Engine:
    """One engine for one registry (a pool of connections; safe for threads)."""
    url = normalize_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise SpecError(f"registry_url '{redact_url(url)}' is not a database URL.",
                        hint="use sqlite:///path/registry.db or postgresql://user@host/db") from None
    if parsed.get_backend_name() == "postgresql":
        return create_engine(url, echo=echo, pool_pre_ping=True, connect_args=_pg_timeouts(parsed.query))
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, echo=echo, pool_pre_ping=True)
    database = parsed.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    # sqlite:///file:PATH?mode=ro&immutable=1&uri=true opens a registry read-only (a packaged
    # one, in an image with a read-only root): no folder made, no WAL files written
    read_only = parsed.query.get("mode") == "ro" or parsed.query.get("immutable") == "1"
    if not in_memory and not read_only:
        path = database[len("file:"):] if parsed.query.get("uri") == "true" and database.startswith("file:") \
            else database
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {"connect_args": {"timeout": BUSY_TIMEOUT_S, "check_same_thread": False}}
    if in_memory:
        options["poolclass"] = StaticPool  # one shared connection, or each would see its own database
    engine = create_engine(url, echo=echo, **options)
    _tune_sqlite(engine, wal=not in_memory and not read_only)
    return engine


def _pg_timeouts(query: Any) -> dict[str, Any]:
    """Connect and statement timeouts, so that an unreachable or stuck server fails a call
    instead of hanging it; a URL that sets its own (``?connect_timeout=``, ``?options=``) keeps them."""
    args: dict[str, Any] = {}
    if "connect_timeout" not in query:
        args["connect_timeout"] = PG_CONNECT_TIMEOUT_S
    if "options" not in query:
        args["options"] = f"-c statement_timeout={PG_STATEMENT_TIMEOUT_S * 1000}"
    return args


def _tune_sqlite(engine: Engine, *, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own BEGIN handling is turned off; ours (below) knows reads from writes
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
            cursor.execute("PRAGMA foreign_keys=ON")
            if wal:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
