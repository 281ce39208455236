"""Reading and writing files a batch at a time (what `podium predict` streams through)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from podium.data import resolve_source
from podium.errors import SourceError


def _table(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"x": rng.normal(size=n), "city": rng.choice(["a", "b"], n), "k": np.arange(n)})


@pytest.mark.parametrize("suffix", ["csv", "parquet", "jsonl"])
def test_a_file_is_read_and_written_a_batch_at_a_time(tmp_path, suffix):
    table = _table(2500)
    source = resolve_source(str(tmp_path / f"in.{suffix}"))
    source.write(table)
    batches = list(source.read_batches(1000))
    assert [len(b) for b in batches] == [1000, 1000, 500]
    sink = resolve_source(str(tmp_path / f"out.{suffix}"))
    with sink.batch_writer() as writer:
        for batch in batches:
            writer.write(batch)
            assert not (tmp_path / f"out.{suffix}").exists()  # renamed into place at the end
    pd.testing.assert_frame_equal(sink.read(), table, check_dtype=False)
    assert not list(tmp_path.glob(".*partial"))


def test_sources_that_cannot_stream_still_take_batches(tmp_path):
    table = _table(30)
    source = resolve_source(str(tmp_path / "in.json"))
    source.write(table)
    assert [len(b) for b in source.read_batches(12)] == [12, 12, 6]
    sink = resolve_source(str(tmp_path / "out.json"))
    with sink.batch_writer() as writer:
        writer.write(table.iloc[:10])
        writer.write(table.iloc[10:])
    assert len(sink.read()) == 30


def test_a_failed_write_leaves_no_file_behind(tmp_path):
    sink = resolve_source(str(tmp_path / "out.parquet"))
    with pytest.raises(SourceError, match=r"^Cannot write '.*out.parquet' as parquet"):
        with sink.batch_writer() as writer:
            writer.write(pd.DataFrame({"x": [1.5, 2.5]}))
            writer.write(pd.DataFrame({"x": ["not", "a number"]}))
    assert not (tmp_path / "out.parquet").exists() and not list(tmp_path.glob(".*partial"))
