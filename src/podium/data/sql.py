"""The SQL source: a table or a query in any database SQLAlchemy reaches.

``postgresql://user@host:5432/crm?table=customers``, ``sqlite:///data/x.db?query=select …``
or a mapping ``{url: …, table: …, schema: …}`` / ``{url: …, query: …}``. ``table``,
``query``, ``schema`` and ``fingerprint`` are podium's and never reach the driver; a bare
``postgresql://`` uses psycopg 3. SQLAlchemy is imported here and nowhere else in ``data``.

``fingerprint()`` (what a watcher polls) does not read the table: by default it asks for
``count(*)`` and, when the table has an updated-at column (``updated_at``, ``modified_at``…),
its ``max``; ``fingerprint: SELECT …`` names the query to ask instead, and
``fingerprint: full`` reads and hashes everything. A query source is read in full unless
it names a fingerprint query.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl, urlencode

import pandas as pd

from podium._internal.fingerprint import json_fingerprint
from podium._internal.redact import redact_url
from podium._internal.suggest import did_you_mean
from podium.data.source import Source, WriteMode, register_source
from podium.errors import DataError, SourceError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Connection, Engine

__all__ = ["SqlSource"]

T = TypeVar("T")

_PODIUM_PARAMS = ("table", "query", "schema", "fingerprint")
#: columns whose max marks a changed row, in order of preference (matched without case)
UPDATED_COLUMNS = ("updated_at", "modified_at", "last_modified", "last_updated", "updated", "modified",
                   "changed_at", "update_time", "mtime")
#: rows a table is read at a time
_READ_CHUNK = 100_000
#: ``fingerprint: full``: read and hash the whole table, as sources without a cheaper way do
FULL = "full"
_DRIVER_PACKAGES = {  # module SQLAlchemy imports → what pip installs
    "psycopg": "podium[postgres]",
    "psycopg2": "psycopg2-binary",
    "MySQLdb": "mysqlclient",
    "pymysql": "pymysql",
    "oracledb": "oracledb",
    "pyodbc": "pyodbc",
    "pymssql": "pymssql",
}


class SqlSource(Source):
    """A table (read and write) or a query (read only) in a SQL database."""

    kind = "sql"

    def __init__(
        self,
        url: str,
        *,
        table: str | None = None,
        query: str | None = None,
        schema: str | None = None,
        chunksize: int | None = None,
        fingerprint: str | None = None,
    ) -> None:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            parsed = make_url(url)
        except ArgumentError:
            raise SourceError(
                f"Cannot parse the database URL '{redact_url(url)}'.",
                hint="write it as dialect://user:password@host:port/database?table=name.",
            ) from None
        params = {k: parsed.query[k] for k in _PODIUM_PARAMS if k in parsed.query}
        parsed = parsed.difference_update_query(_PODIUM_PARAMS)
        self.table = table if table is not None else _single(params.get("table"))
        self.query = query if query is not None else _single(params.get("query"))
        self.schema = schema if schema is not None else _single(params.get("schema"))
        self.fingerprint_query = fingerprint if fingerprint is not None else _single(params.get("fingerprint"))
        self.chunksize = chunksize
        self._shown = _shown(url)
        self.url: URL = _with_default_driver(parsed)
        if self.table and self.query:
            raise SourceError(
                f"{self._shown} has both a table and a query.", hint="give one of them."
            )
        if not self.table and not self.query:
            raise SourceError(
                f"{self._shown} names no table and no query.",
                hint="add ?table=NAME to the URL, or use a mapping {url: …, query: select …}.",
            )

    def describe(self) -> str:
        if self.table:
            table = f"{self.schema}.{self.table}" if self.schema else self.table
            return f"{self._shown}{'&' if '?' in self._shown else '?'}table={table}"
        query = " ".join((self.query or "").split())
        return f"{self._shown} query '{query if len(query) <= 60 else query[:57] + '...'}'"

    # reading -----------------------------------------------------------------------

    def read(self) -> pd.DataFrame:
        return self._read(None)

    def read_columns(self, columns: Sequence[str]) -> pd.DataFrame:
        """Only these columns: a table is asked for them alone (``SELECT a, b FROM t``); a query
        is read whole and cut."""
        if not self.table:
            return super().read_columns(columns)
        return self._read(list(columns))

    def _read(self, columns: list[str] | None) -> pd.DataFrame:
        """A table is streamed in chunks of ``chunksize`` rows (a server-side cursor where the
        driver has one: the driver never holds every row as Python tuples), then joined."""
        self._check_sqlite_file()
        table, query = self.table, self.query or ""
        engine = self._engine()
        try:
            with self._connect(engine) as conn:
                if table:
                    self._check_table(conn)
                    streamed = conn.execution_options(stream_results=True)
                    frame = self._run(lambda: _joined(pd.read_sql_table(
                        table, streamed, schema=self.schema, columns=columns,
                        chunksize=self.chunksize or _READ_CHUNK)))
                else:
                    # no_parameters: the driver gets the SQL as written ('A%', '10:30')
                    plain = conn.execution_options(no_parameters=True)
                    frame = self._run(lambda: pd.read_sql_query(query, plain))
        finally:
            engine.dispose()
        if len(frame) == 0:
            what = f"Table '{self.table}'" if self.table else "The query"
            raise DataError(f"{what} in {self._shown} has no rows.")
        return frame

    def fingerprint(self) -> str:
        """What changes when the data does, without reading it (see the module's docstring)."""
        plan = self.fingerprint_plan()
        if plan == FULL:
            return super().fingerprint()
        self._check_sqlite_file()
        engine = self._engine()
        try:
            with self._connect(engine) as conn:
                if self.table:
                    self._check_table(conn)
                statement = self._fingerprint_statement(conn) if self.fingerprint_query is None else None
                plain = conn.execution_options(no_parameters=True)
                rows = self._run(lambda: (conn.execute(statement) if statement is not None
                                          else plain.exec_driver_sql(self.fingerprint_query or "")).all(),
                                 doing="fingerprint")
        finally:
            engine.dispose()
        return json_fingerprint({"source": self.describe(), "plan": plan, "rows": [list(r) for r in rows]})

    def fingerprint_plan(self) -> str:
        """How ``fingerprint()`` finds out: ``full``, ``query`` (the one given) or ``count`` (a table's
        count and updated-at column)."""
        given = (self.fingerprint_query or "").strip()
        if given.lower() == FULL or (not given and not self.table):
            return FULL
        return "query" if given else "count"

    def _fingerprint_statement(self, conn: Connection) -> Any:
        """``SELECT count(*), max(updated_at) FROM table`` (the max when there is such a column)."""
        from sqlalchemy import column, func, inspect, select, table

        names = {str(c["name"]).lower(): str(c["name"])
                 for c in inspect(conn).get_columns(self.table or "", schema=self.schema)}
        updated = next((names[n] for n in UPDATED_COLUMNS if n in names), None)
        measures: list[Any] = [func.count()] + ([func.max(column(updated))] if updated else [])
        return select(*measures).select_from(table(self.table or "", schema=self.schema))

    # writing -----------------------------------------------------------------------

    def write(self, frame: pd.DataFrame, *, mode: WriteMode = "replace") -> None:
        if mode not in ("replace", "append"):
            raise SourceError(f"'{mode}' is not a write mode.", hint="use replace or append.")
        if not self.table:
            raise SourceError(
                f"Cannot write to a query ({self.describe()}).", hint="give a table to write to."
            )
        table = self.table
        engine = self._engine()
        try:
            # one transaction: a failed write leaves the old table, where the database
            # has transactional DDL (PostgreSQL, SQLite)
            with self._connect(engine) as conn, conn.begin():
                self._run(
                    lambda: frame.to_sql(
                        table, conn, schema=self.schema, if_exists=mode, index=False,
                        chunksize=self.chunksize or 10_000,
                    ),
                    doing="write to",
                )
        finally:
            engine.dispose()

    # helpers -----------------------------------------------------------------------

    def _engine(self) -> Engine:
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        connect_args: dict[str, Any] = {}
        if self.url.get_backend_name() == "postgresql" and "connect_timeout" not in self.url.query:
            connect_args["connect_timeout"] = 10
        try:
            return create_engine(self.url, poolclass=NullPool, connect_args=connect_args)
        except ImportError as exc:
            missing = (getattr(exc, "name", None) or _first_line(exc)).split(".")[0]
            raise SourceError(
                f"Cannot use {self._shown}: its driver ({missing}) is not installed.",
                hint=f"pip install '{_DRIVER_PACKAGES.get(missing, missing)}', or name another "
                "driver in the URL (e.g. mysql+pymysql://).",
            ) from None
        except Exception as exc:  # noqa: BLE001  (unknown dialect, bad URL argument)
            raise SourceError(
                f"Cannot use {self._shown}: {self._reason(exc)}.",
                hint="check the dialect name, e.g. postgresql://, sqlite:///, mysql+pymysql://.",
            ) from None

    def _connect(self, engine: Engine) -> Connection:
        from sqlalchemy.exc import SQLAlchemyError

        try:
            return engine.connect()
        except SQLAlchemyError as exc:
            raise SourceError(
                f"Cannot connect to {self._shown}: {self._reason(exc)}.",
                hint="check that the server runs, and the host, port, user and database.",
            ) from None

    def _check_sqlite_file(self) -> None:
        """SQLite would create a missing database file and then find no table in it."""
        database = self.url.database
        if self.url.get_backend_name() != "sqlite" or not database or database == ":memory:":
            return
        if database.startswith("file:") or Path(database).exists():
            return
        raise SourceError(
            f"Database file '{database}' does not exist ({self._shown}).",
            hint=f"check the path; sqlite:///x.db is relative to {Path.cwd()}, "
            "sqlite:////abs/x.db is absolute.",
        )

    def _check_table(self, conn: Connection) -> None:
        from sqlalchemy import inspect

        inspector = inspect(conn)
        if inspector.has_table(self.table or "", schema=self.schema):
            return
        tables = inspector.get_table_names(schema=self.schema) + inspector.get_view_names(
            schema=self.schema
        )
        where = f"schema '{self.schema}' of {self._shown}" if self.schema else self._shown
        message = f"Table '{self.table}' does not exist in {where}."
        if not tables:
            raise SourceError(f"{message} It has no tables.", hint="write a table there first.")
        close = did_you_mean(self.table or "", tables)
        if close.startswith("Did you mean"):
            message = f"{message} {close}"
        listed = ", ".join(sorted(tables)[:20])
        more = f" and {len(tables) - 20} more" if len(tables) > 20 else ""
        raise SourceError(message, hint=f"its tables: {listed}{more}.")

    def _run(self, action: Callable[[], T], *, doing: str = "read") -> T:
        from sqlalchemy.exc import SQLAlchemyError

        try:
            return action()
        except (SQLAlchemyError, pd.errors.DatabaseError, ValueError, TypeError) as exc:
            # pandas wraps the SQLAlchemy error in its own DatabaseError
            cause = exc.__cause__ if isinstance(exc.__cause__, SQLAlchemyError) else exc
            raise SourceError(
                f"Cannot {doing} {self.describe()}: {self._reason(cause)}.",
                hint="check the SQL and the table's columns." if self.query else None,
            ) from None

    def _reason(self, exc: BaseException) -> str:
        """The driver's reason in a few words, with the password taken out."""
        text = str(getattr(exc, "orig", None) or exc)
        line = next((ln.strip() for ln in text.splitlines() if ln.strip()), type(exc).__name__)
        line = re.sub(r"^\([\w.]+\)\s*", "", line)  # SQLAlchemy's "(module.Error) " prefix
        if " failed: " in line:  # psycopg: "connection to server at …, port … failed: reason"
            line = line.rsplit(" failed: ", 1)[1]
        line = re.sub(r"^(FATAL|ERROR):\s+", "", line).rstrip(".")
        password = self.url.password
        if password:
            line = line.replace(str(password), "***")
        return line if len(line) <= 200 else line[:197] + "..."


def _joined(chunks: Iterator[pd.DataFrame]) -> pd.DataFrame:
    parts = list(chunks)
    if len(parts) == 1:
        return parts[0]
    if not parts:
        raise ValueError("no chunks")  # read_sql_table yields one empty frame for an empty table
    return pd.concat(parts, ignore_index=True)


def _single(value: str | tuple[str, ...] | None) -> str | None:
    return value[-1] if isinstance(value, tuple) else value


def _with_default_driver(url: URL) -> URL:
    """``postgres``/``postgresql`` without a driver means psycopg 3 (not psycopg2)."""
    dialect, _, driver = url.drivername.partition("+")
    if dialect in ("postgres", "postgresql"):
        return url.set(drivername=f"postgresql+{driver or 'psycopg'}")
    return url


def _shown(url: str) -> str:
    """The URL as the user wrote it (driver and all), without podium's params or the password."""
    base, _, query = url.partition("?")
    rest = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k not in _PODIUM_PARAMS]
    return redact_url(f"{base}?{urlencode(rest)}" if rest else base)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


@register_source("postgresql", "postgres", "sqlite", "mysql", "mssql", "oracle")
def _make(url: str, options: Mapping[str, Any]) -> Source:
    known = {*_PODIUM_PARAMS, "chunksize"}
    for name in options:
        if name not in known:
            raise SourceError(
                f"'{name}' is not an option of a SQL source. {did_you_mean(name, known)}".rstrip()
            )
    if not url:
        raise SourceError("A SQL source needs a url.", hint="e.g. {url: postgresql://host/db, table: t}.")
    return SqlSource(url, **dict(options))
