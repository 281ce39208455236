"""The registry database's schema revision: checked on first use, upgraded on request.

::

    ensure_schema(engine)       # a new, empty database is brought to head; one behind head raises
    upgrade_schema(engine)      # podium db upgrade: (from, to), idempotent
    schema_status(engine)       # podium db current

The schema is the Alembic history of ``podium.registry.migrations``. A database that podium
0.1.0 made (its tables, no ``alembic_version``) counts as the baseline revision ``0001``. An
existing database is never upgraded silently: the person who owns it backs it up and runs
``podium db upgrade``. Upgrades take a lock (SQLite's write lock, a PostgreSQL advisory lock),
so processes that open a new database together create it once.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from podium.errors import IntegrityError, RegistryRevisionError
from podium.registry.engine import WRITE_OPTION

if TYPE_CHECKING:  # Alembic is imported where a schema is read or changed, not to open a registry
    from alembic.config import Config
    from alembic.script import ScriptDirectory

__all__ = ["SchemaStatus", "ensure_schema", "upgrade_schema", "schema_status", "head_revision",
           "alembic_config", "script_directory", "declared_head", "BASELINE", "UPGRADE_COMMAND"]

MIGRATIONS = Path(__file__).with_name("migrations")
#: the revision of the schema podium 0.1.0 created without migrations
BASELINE = "0001"
UPGRADE_COMMAND = "podium db upgrade"
#: the tables podium 0.1.0 could create: finding any of them without a revision means a 0.1.0 database
_BASELINE_TABLES = frozenset({
    "runs", "trials", "models", "model_versions", "aliases", "api_keys", "events", "datasets",
    "dataset_versions", "pipeline_bindings", "pipeline_jobs", "prediction_log"})
_PG_LOCK = 0x706F6469756D  # "podium": the advisory lock that serialises upgrades on PostgreSQL


@dataclass(frozen=True)
class SchemaStatus:
    """Where a registry database stands: its revision (``None`` when empty) and the head."""

    current: str | None
    head: str
    legacy: bool = False  # made by podium 0.1.0, before migrations (``current`` is the baseline)

    @property
    def empty(self) -> bool:
        return self.current is None

    @property
    def up_to_date(self) -> bool:
        """At head, and recorded as such (a 0.1.0 database is adopted by an upgrade first)."""
        return self.current == self.head and not self.legacy

    @property
    def known(self) -> bool:
        """Whether this podium knows the revision (not one that a newer podium wrote)."""
        return self.current is None or self.current in _revisions()

    def describe(self) -> str:
        """The revision in words: ``0001 (podium 0.1.0, before migrations)``, ``empty``."""
        if self.current is None:
            return "empty"
        return f"{self.current} (podium 0.1.0, before migrations)" if self.legacy else self.current


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for the registry's migrations, on ``connection`` when given."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@functools.cache
def script_directory() -> ScriptDirectory:
    """The migrations (``walk_revisions()`` lists them, head first)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


@functools.cache
def _revisions() -> frozenset[str]:
    return frozenset(r.revision for r in script_directory().walk_revisions())


def head_revision() -> str:
    """The revision this podium's code needs (the one head of the migrations)."""
    head = script_directory().get_current_head()
    if head is None:  # pragma: no cover - the baseline always exists
        raise RuntimeError(f"no migrations in {MIGRATIONS}")
    return head


_REVISION_LINE = re.compile(r"""^(down_)?revision\s*=\s*(?:["']([^"']+)["']|None)\s*$""", re.MULTILINE)


@functools.cache
def declared_head() -> str | None:
    """The head revision read from the migration files' ``revision = ...`` lines, without
    Alembic (a serving worker opens the registry without importing it); None when the files
    do not say it plainly (one line each, one head) — then :func:`head_revision` decides."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = {bool(m.group(1)): m.group(2) for m in _REVISION_LINE.finditer(path.read_text(encoding="utf-8"))}
        if False not in found or found[False] is None:
            return None
        revisions.add(found[False])
        parent = found.get(True)
        if parent:
            parents.add(parent)
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _at_declared_head(conn: Connection) -> bool:
    """Whether the database records exactly the head revision (one query, no Alembic)."""
    head = declared_head()
    if head is None:
        return False
    try:
        rows = conn.execute(text("SELECT version_num FROM alembic_version")).fetchall()
    except DBAPIError:  # no such table: empty, or made by podium 0.1.0
        conn.rollback()
        return False
    return [r[0] for r in rows] == [head]


def _status(conn: Connection) -> SchemaStatus:
    from alembic.runtime.migration import MigrationContext

    heads = MigrationContext.configure(conn).get_current_heads()
    if heads:
        return SchemaStatus(current=",".join(sorted(heads)), head=head_revision())
    if _BASELINE_TABLES & set(inspect(conn).get_table_names()):
        return SchemaStatus(current=BASELINE, head=head_revision(), legacy=True)
    return SchemaStatus(current=None, head=head_revision())


def schema_status(engine: Engine) -> SchemaStatus:
    """The revision of the database behind ``engine`` and the one this podium needs."""
    with engine.connect() as conn:
        return _status(conn)


def _where(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _mismatch(engine: Engine, status: SchemaStatus) -> RegistryRevisionError:
    if not status.known:
        return RegistryRevisionError(
            f"the registry database {_where(engine)} is at revision {status.current}, which this podium "
            f"does not know (it needs {status.head}): a newer podium upgraded it.",
            hint="install the podium version that upgraded it, or a newer one")
    return RegistryRevisionError(
        f"the registry database {_where(engine)} is at revision {status.describe()}; "
        f"this podium needs revision {status.head}.",
        hint=f"back it up, then run: {UPGRADE_COMMAND}")


def ensure_schema(engine: Engine) -> None:
    """Check the database before use: a new, empty one is brought to head (under a lock, so
    processes opening it together create it once); one at another revision raises
    :class:`RegistryRevisionError`, which names both revisions and ``podium db upgrade``."""
    with engine.connect() as conn:
        if _at_declared_head(conn):  # the usual case, answered without importing Alembic
            return
    status = schema_status(engine)
    if status.up_to_date:
        return
    if not status.empty:
        raise _mismatch(engine, status)
    _upgrade(engine, only_if_empty=True)


def upgrade_schema(engine: Engine) -> tuple[SchemaStatus, SchemaStatus]:
    """Bring the database to head (``podium db upgrade``); returns its status before and after.

    Idempotent: a database already at head is left as it is. A 0.1.0 database is adopted as
    the baseline (the tables it lacks are created) and upgraded from there.
    """
    return _upgrade(engine, only_if_empty=False)


def _upgrade(engine: Engine, *, only_if_empty: bool) -> tuple[SchemaStatus, SchemaStatus]:
    with _migration_connection(engine) as conn:
        before = _status(conn)  # again, under the lock: another process may have done it
        if before.up_to_date:
            return before, before
        if not before.known or (only_if_empty and not before.empty):
            raise _mismatch(engine, before)
        from alembic import command

        command.upgrade(alembic_config(conn), "head")
        if conn.dialect.name == "sqlite":
            broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise IntegrityError(f"the upgrade of {_where(engine)} would break {len(broken)} references "
                                     f"(first: {tuple(broken[0])}); nothing was changed.")
        return before, _status(conn)


@contextmanager
def _migration_connection(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that holds the schema lock, committed at the end."""
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # SQLite rebuilds a table to alter it; references are checked once, at the end, as
            # SQLite's documentation prescribes (the pragma is a no-op inside a transaction)
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            conn.execution_options(**{WRITE_OPTION: True})  # SQLite: BEGIN IMMEDIATE, the write lock
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
                yield conn
        finally:
            if sqlite:
                conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]
