"""The SQL source against a SQLite file and a real PostgreSQL server."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from podium.data import SqlSource, resolve_source
from podium.errors import DataError, SourceError
from podium.testing.servers import free_port

pytestmark = pytest.mark.integration

FRAME = pd.DataFrame(
    {
        "id": [1, 2, 3],
        "name": ["Ada", "Bob", None],
        "spend": [10.5, 0.0, 99.25],
        "churned": [True, False, True],
    }
)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/crm.db"


@pytest.fixture(scope="module")
def pg_url(postgres_url: str) -> str:
    """The server's URL in the plain form users write: postgresql:// with no driver."""
    return postgres_url.replace("postgresql+psycopg://", "postgresql://")


# SQLite ------------------------------------------------------------------------------


def test_sqlite_write_then_read(sqlite_url: str) -> None:
    source = resolve_source(f"{sqlite_url}?table=customers")
    source.write(FRAME)
    pd.testing.assert_frame_equal(source.read(), FRAME, check_dtype=False)
    source.write(FRAME.head(1), mode="append")
    assert source.read()["id"].tolist() == [1, 2, 3, 1]
    source.write(FRAME.head(2))  # replace
    assert source.read()["id"].tolist() == [1, 2]


def test_sqlite_query_form(sqlite_url: str) -> None:
    resolve_source(f"{sqlite_url}?table=customers").write(FRAME)
    query = "select name from customers where spend > 5 order by id"
    source = resolve_source({"url": sqlite_url, "query": query})
    names = source.read()["name"]
    assert names[0] == "Ada" and pd.isna(names[1])
    with pytest.raises(SourceError, match=r"^Cannot write to a query .*Hint: give a table"):
        source.write(FRAME)


def test_sqlite_missing_database_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"^Database file '.*nope\.db' does not exist"):
        resolve_source(f"sqlite:///{tmp_path}/nope.db?table=t").read()
    assert not (tmp_path / "nope.db").exists()


def test_sqlite_missing_table_suggests(sqlite_url: str) -> None:
    resolve_source(f"{sqlite_url}?table=customers").write(FRAME)
    with pytest.raises(
        SourceError,
        match=r"^Table 'custmers' does not exist in sqlite:///.*crm\.db\. "
        r"Did you mean 'customers'\? Hint: its tables: customers\.$",
    ):
        resolve_source(f"{sqlite_url}?table=custmers").read()


def test_sqlite_database_without_tables(tmp_path: Path) -> None:
    resolve_source(f"sqlite:///{tmp_path}/a.db?table=t").write(FRAME)
    with sqlite3.connect(tmp_path / "a.db") as conn:
        conn.execute("drop table t")
    with pytest.raises(SourceError, match=r"^Table 't' does not exist in .*a\.db\. It has no tables\."):
        resolve_source(f"sqlite:///{tmp_path}/a.db?table=t").read()


def test_sqlite_bad_query(sqlite_url: str) -> None:
    resolve_source(f"{sqlite_url}?table=customers").write(FRAME)
    with pytest.raises(
        SourceError,
        match=r"^Cannot read sqlite:///.* query 'select nope from customers': "
        r"no such column: nope\. Hint: check the SQL",
    ):
        resolve_source({"url": sqlite_url, "query": "select nope from customers"}).read()


def test_sqlite_empty_table(sqlite_url: str) -> None:
    resolve_source(f"{sqlite_url}?table=customers").write(FRAME.head(0))
    with pytest.raises(DataError, match=r"^Table 'customers' in sqlite:///.* has no rows\."):
        resolve_source(f"{sqlite_url}?table=customers").read()


def test_neither_table_nor_query() -> None:
    with pytest.raises(
        SourceError,
        match=r"^postgresql://u@h/crm names no table and "
        r"no query\. Hint: add \?table=NAME",
    ):
        resolve_source("postgresql://u@h/crm")


def test_both_table_and_query() -> None:
    with pytest.raises(SourceError, match=r"has both a table and a query"):
        resolve_source({"url": "sqlite:///x.db", "table": "t", "query": "select 1"})


def test_unknown_option_suggests() -> None:
    with pytest.raises(
        SourceError,
        match=r"'tabel' is not an option of a SQL "
        r"source\. Did you mean 'table'\?",
    ):
        resolve_source({"url": "sqlite:///x.db", "tabel": "t"})


def test_missing_driver_says_what_to_install() -> None:
    with pytest.raises(SourceError, match=r"driver .* is not installed\. Hint: pip install"):
        resolve_source("mysql://u@h/db?table=t").read()  # MySQLdb is not installed


def test_podium_params_never_reach_the_driver() -> None:
    source = SqlSource("postgresql://u:pw@h:5433/crm?table=t&sslmode=disable&schema=s")
    assert source.url.drivername == "postgresql+psycopg"
    assert dict(source.url.query) == {"sslmode": "disable"}
    assert (source.table, source.schema) == ("t", "s")
    assert source.describe() == "postgresql://u:***@h:5433/crm?sslmode=disable&table=s.t"


# PostgreSQL --------------------------------------------------------------------------


def test_postgres_write_then_read_plain_url(pg_url: str) -> None:
    assert pg_url.startswith("postgresql://")
    source = resolve_source(f"{pg_url}?table=customers")
    source.write(FRAME)
    read = source.read()
    pd.testing.assert_frame_equal(read, FRAME, check_dtype=False)
    assert read["churned"].dtype == bool


def test_postgres_driver_url_and_append(postgres_url: str) -> None:
    source = resolve_source({"url": postgres_url, "table": "orders"})
    source.write(FRAME)
    source.write(FRAME, mode="append")
    assert len(source.read()) == 6


def test_postgres_query_with_percent_and_colon(pg_url: str) -> None:
    resolve_source(f"{pg_url}?table=people").write(FRAME)
    query = "select name, '10:30' as at from people where name like 'A%'"
    source = resolve_source({"url": pg_url, "query": query})
    assert source.read().to_dict("records") == [{"name": "Ada", "at": "10:30"}]


def test_postgres_schema(pg_url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(sa.text("create schema if not exists sales"))
    engine.dispose()
    source = resolve_source(f"{pg_url}?table=deals&schema=sales")
    source.write(FRAME)
    assert source.read()["id"].tolist() == [1, 2, 3]
    assert source.describe().endswith("?table=sales.deals")


def test_postgres_missing_table_lists_tables(pg_url: str) -> None:
    resolve_source(f"{pg_url}?table=customers").write(FRAME)
    with pytest.raises(
        SourceError,
        match=r"^Table 'customer' does not exist in postgresql://postgres@127\.0\.0\.1:\d+/podium\. "
        r"Did you mean 'customers'\?",
    ):
        resolve_source(f"{pg_url}?table=customer").read()
    with pytest.raises(
        SourceError,
        match=r"^Table 'zzz' does not exist in postgresql://[^ "
        r"]+/podium\. Hint: its tables: .*customers",
    ):
        resolve_source(f"{pg_url}?table=zzz").read()


def test_postgres_unreachable_port() -> None:
    port = free_port()
    with pytest.raises(
        SourceError,
        match=rf"^Cannot connect to postgresql://user@127\.0\.0\.1:{port}/crm: "
        rf"Connection refused\. Hint: check that the server runs",
    ):
        resolve_source(f"postgresql://user@127.0.0.1:{port}/crm?table=customers").read()


def test_postgres_password_never_shown(pg_url: str) -> None:
    port = free_port()
    url = f"postgresql://user:hunter2@127.0.0.1:{port}/crm?table=customers"
    source = resolve_source(url)
    assert "hunter2" not in source.describe() and "hunter2" not in repr(source)
    with pytest.raises(
        SourceError,
        match=rf"^Cannot connect to postgresql://user:\*\*\*@127\.0\.0\.1:{port}/crm: "
        rf"",
    ) as caught:
        source.read()
    assert "hunter2" not in str(caught.value)


def test_postgres_unknown_database(pg_url: str) -> None:
    url = pg_url.rsplit("/", 1)[0] + "/nosuchdb?table=t"
    pattern = r'^Cannot connect to .*/nosuchdb: database "nosuchdb" does not exist\.'
    with pytest.raises(SourceError, match=pattern):
        resolve_source(url).read()


def test_postgres_fingerprint_follows_the_table(pg_url: str) -> None:
    source = resolve_source(f"{pg_url}?table=fp")
    source.write(FRAME)
    first = source.fingerprint()
    assert source.fingerprint() == first
    source.write(FRAME.head(2))
    assert source.fingerprint() != first
