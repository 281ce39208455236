"""The in-memory source: the double the other unit tests use, with the same contract."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

from podium.data import MemorySource, resolve_source
from podium.data.memory import memory_tables
from podium.errors import DataError, SchemaError, SourceError

FRAME = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})


@pytest.fixture(autouse=True)
def _clean_tables() -> Iterator[None]:
    memory_tables.clear()
    yield
    memory_tables.clear()


def test_wraps_a_frame_and_copies_it() -> None:
    frame = FRAME.copy()
    source = MemorySource(frame)
    frame.loc[0, "a"] = 99  # the caller's frame changing does not change the source
    read = source.read()
    pd.testing.assert_frame_equal(read, FRAME)
    read.loc[0, "a"] = 42  # nor does the reader's
    pd.testing.assert_frame_equal(source.read(), FRAME)
    assert source.describe() == "memory frame (2 rows × 2 columns)"


def test_named_table_through_a_url() -> None:
    resolve_source("memory-table://customers").write(FRAME)
    assert list(memory_tables) == ["customers"]
    pd.testing.assert_frame_equal(resolve_source("memory-table://customers").read(), FRAME)
    assert resolve_source("memory-table://customers").describe() == "memory-table://customers"


def test_append_and_replace() -> None:
    source = MemorySource(name="t")
    source.write(FRAME, mode="append")
    source.write(FRAME[["b", "a"]], mode="append")
    assert source.read()["a"].tolist() == [1, 2, 1, 2]
    source.write(FRAME.head(1))
    assert source.read()["a"].tolist() == [1]


def test_append_with_other_columns() -> None:
    source = MemorySource(FRAME)
    with pytest.raises(SchemaError, match=r"Cannot append to 'memory frame .*': its columns"):
        source.write(FRAME[["a"]], mode="append")


def test_fingerprint_follows_the_content() -> None:
    source = MemorySource(name="t")
    source.write(FRAME)
    first = source.fingerprint()
    assert MemorySource(FRAME).fingerprint() == first
    source.write(FRAME.head(1))
    assert source.fingerprint() != first


def test_missing_table_suggests() -> None:
    MemorySource(name="customers").write(FRAME)
    with pytest.raises(SourceError, match=r"^No memory table named 'custmers'\. Did you mean 'customers'\?"):
        resolve_source("memory-table://custmers").read()


def test_empty_table() -> None:
    source = MemorySource(FRAME.head(0))
    with pytest.raises(DataError, match=r"has no rows\."):
        source.read()


def test_needs_a_frame_or_a_name() -> None:
    with pytest.raises(SourceError, match="either a frame or a name"):
        MemorySource()
    with pytest.raises(SourceError, match="either a frame or a name"):
        MemorySource(FRAME, name="t")
    with pytest.raises(SourceError, match=r"names no memory table"):
        resolve_source({"kind": "memory-table"})
    with pytest.raises(SourceError, match=r"takes no options"):
        resolve_source({"url": "memory-table://t", "sep": ";"})
