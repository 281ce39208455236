"""Resolving a URL-like string or a mapping to a Source, by scheme or by file suffix."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import pandas as pd
import pytest

import podium.data as data
from podium.data import (
    FileSource,
    MemorySource,
    MongoSource,
    RedisSource,
    Source,
    SqlSource,
    register_source,
    resolve_source,
    source_kinds,
)
from podium.data.source import redact_url
from podium.errors import NotFoundError, SourceError


@pytest.mark.parametrize(
    ("spec", "cls", "kind"),
    [
        ("data/train.csv", FileSource, "csv"),
        ("s3://bucket/x.parquet", FileSource, "parquet"),
        ("gs://bucket/x.jsonl.gz", FileSource, "jsonl"),
        ("https://host/path/x.json?raw=1", FileSource, "json"),
        ("memory://bucket/x.xlsx", FileSource, "excel"),
        ("file:///tmp/x.tsv", FileSource, "csv"),
        ("postgresql://user@db:5433/crm?table=customers", SqlSource, "sql"),
        ("postgres://db/crm?table=t", SqlSource, "sql"),
        ("postgresql+psycopg://db/crm?table=t.csv", SqlSource, "sql"),  # scheme wins over suffix
        ("sqlite:///data/x.db?query=select 1", SqlSource, "sql"),
        ("mysql+pymysql://u@h/db?table=t", SqlSource, "sql"),
        ("redis://127.0.0.1:6379/0?pattern=customer:*", RedisSource, "redis"),
        ("rediss://h:6380/1", RedisSource, "redis"),
        ("mongodb://h:27017/crm/customers", MongoSource, "mongodb"),
        ("memory-table://customers", MemorySource, "memory-table"),
    ],
)
def test_resolves_by_scheme_or_suffix(spec: str, cls: type[Source], kind: str) -> None:
    source = resolve_source(spec)
    assert type(source) is cls
    assert source.kind == kind


def test_mapping_forms() -> None:
    sql = resolve_source({"url": "postgresql://db/crm", "query": "select * from t"})
    assert isinstance(sql, SqlSource) and sql.query == "select * from t"
    sql = resolve_source({"url": "postgresql://db/crm", "table": "t", "schema": "s"})
    assert isinstance(sql, SqlSource) and (sql.table, sql.schema) == ("t", "s")
    file = resolve_source({"path": "x.csv", "sep": ";"})
    assert isinstance(file, FileSource) and file.options == {"sep": ";"}
    mongo = resolve_source({"url": "mongodb://h", "database": "crm", "collection": "c"})
    assert isinstance(mongo, MongoSource) and (mongo.database, mongo.collection) == ("crm", "c")
    memory = resolve_source({"kind": "memory-table", "name": "t"})
    assert isinstance(memory, MemorySource) and memory.name == "t"


def test_a_source_resolves_to_itself() -> None:
    source = MemorySource(pd.DataFrame({"a": [1]}))
    assert resolve_source(source) is source


def test_unknown_suffix() -> None:
    with pytest.raises(
        SourceError,
        match=r"^Cannot tell what kind of source 'data/x\.txt' "
        r"is\. Hint: .*postgresql",
    ):
        resolve_source("data/x.txt")


def test_unknown_scheme_redacts_the_password() -> None:
    with pytest.raises(SourceError, match=r"'ftp2://u:\*\*\*@h/x' is\.") as caught:
        resolve_source("ftp2://u:hunter2@h/x")
    assert "hunter2" not in str(caught.value)


def test_empty_source() -> None:
    with pytest.raises(SourceError, match=r"^No data source given\."):
        resolve_source("")


def test_unknown_kind_suggests() -> None:
    with pytest.raises(NotFoundError, match=r"'cvs' is not a source scheme\. Did you mean 'csv'\?"):
        resolve_source({"kind": "cvs", "path": "x.txt"})


def test_register_a_new_kind() -> None:
    class Constant(Source):
        kind = "constant"

        def __init__(self, value: int) -> None:
            self.value = value

        def read(self) -> pd.DataFrame:
            return pd.DataFrame({"value": [self.value]})

        def describe(self) -> str:
            return f"constant://{self.value}"

    @register_source("constant-test")
    def make(url: str, options: Mapping[str, Any]) -> Source:
        return Constant(int(url.split("//")[1]))

    try:
        source = resolve_source("constant-test://7")
        assert source.read()["value"].tolist() == [7]
        assert repr(source) == "<Constant constant://7>"
        with pytest.raises(SourceError, match=r"^constant://7 cannot be written to\."):
            source.write(pd.DataFrame())
    finally:
        source_kinds._items.pop("constant-test")


def test_a_scheme_cannot_be_registered_twice() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_source("csv")(lambda url, options: MemorySource(name="x"))


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:pw@h/db", "postgresql://u:***@h/db"),
        ("redis://:pw@h:6379/0", "redis://:***@h:6379/0"),
        ("https://h/x.csv?token=abc&v=1", "https://h/x.csv?token=***&v=1"),
        ("data/x.csv", "data/x.csv"),
        ("mongodb://h/db", "mongodb://h/db"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_exports_are_complete() -> None:
    assert set(data.__all__) == {
        "Source", "resolve_source", "register_source", "source_kinds", "ColumnType",
        "infer_column_types", "infer_column_type", "FileSource", "SqlSource", "RedisSource",
        "MongoSource", "MemorySource", "FolderSource", "WriteMode", "sample_rows",
    }
    for name in data.__all__:
        assert getattr(data, name) is not None


def test_importing_does_not_import_drivers() -> None:
    import subprocess

    code = (
        "import sys, podium.data; "
        "print(sorted(m for m in ('redis', 'pymongo', 'psycopg', 'sqlalchemy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
