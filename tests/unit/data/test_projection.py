"""Reading only the columns a run needs: parquet and CSV files, SQL tables (chunked), the rest."""

import sqlite3

import numpy as np
import pandas as pd
import pytest

from podium.automation.run import _needed_columns
from podium.data import resolve_source
from podium.errors import SourceError
from podium.spec import parse_spec


def _frame(n=1_000):
    rng = np.random.default_rng(0)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.choice(["x", "y"], n), "c": np.arange(n),
                         "when": pd.date_range("2024-01-01", periods=n, freq="h")})


def test_a_parquet_file_reads_as_pandas_does_and_only_the_columns_asked(tmp_path):
    frame = _frame()
    frame["b"] = frame["b"].astype("category")
    frame.to_parquet(tmp_path / "x.parquet", index=False, row_group_size=300)
    source = resolve_source(str(tmp_path / "x.parquet"))
    pd.testing.assert_frame_equal(source.read(), pd.read_parquet(tmp_path / "x.parquet"))
    part = source.read_columns(["c", "a"])
    assert list(part.columns) == ["c", "a"]
    pd.testing.assert_frame_equal(part, frame[["c", "a"]])


def test_a_csv_file_parses_only_the_columns_asked(tmp_path):
    _frame().to_csv(tmp_path / "x.csv", index=False)
    part = resolve_source(str(tmp_path / "x.csv")).read_columns(["b", "c"])
    assert sorted(part.columns) == ["b", "c"] and len(part) == 1_000


def test_a_sql_table_is_read_in_chunks_and_only_the_columns_asked(tmp_path):
    frame = _frame(2_500)
    with sqlite3.connect(tmp_path / "x.db") as conn:
        frame.to_sql("t", conn, index=False)
    url = f"sqlite:///{tmp_path / 'x.db'}"
    chunked = resolve_source({"url": url, "table": "t", "chunksize": 1_000})
    whole = chunked.read()
    assert len(whole) == 2_500 and list(whole.columns) == list(frame.columns)
    pd.testing.assert_frame_equal(whole, frame, check_dtype=False)
    part = chunked.read_columns(["when", "a"])
    assert list(part.columns) == ["when", "a"] and len(part) == 2_500


def test_a_source_that_cannot_project_reads_everything_and_keeps_the_columns(tmp_path):
    _frame(10).to_json(tmp_path / "x.jsonl", orient="records", lines=True)
    source = resolve_source(str(tmp_path / "x.jsonl"))
    assert list(source.read_columns(["c", "a"]).columns) == ["c", "a"]
    with pytest.raises(SourceError, match="has no column 'nope'"):
        source.read_columns(["nope"])


def test_a_run_reads_the_columns_its_first_step_selects():
    spec = parse_spec({"source": "x.csv", "target": "y", "split": {"time_column": "when"},
                       "steps": [{"select_columns": {"columns": ["a", "b"]}}, {"drop_duplicates": {}}]})
    assert _needed_columns(spec) == ["a", "b", "y", "when"]
    assert _needed_columns(parse_spec({"source": "x.csv", "target": "y"})) is None
    later = parse_spec({"source": "x.csv", "target": "y",
                        "steps": [{"drop_duplicates": {}}, {"select_columns": {"columns": ["a"]}}]})
    assert _needed_columns(later) is None  # a step before it may use other columns


def test_a_sample_of_a_parquet_file_converts_only_drawn_rows_in_their_order(tmp_path):
    _frame(5_000).to_parquet(tmp_path / "x.parquet", index=False, row_group_size=700)
    source = resolve_source(str(tmp_path / "x.parquet"))
    part, total = source.read_sample(["c", "a"], 1_000, seed=3)
    assert total == 5_000 and list(part.columns) == ["c", "a"]
    assert 850 <= len(part) <= 1_150  # each row kept with probability 1,000 / 5,000
    assert part["c"].is_monotonic_increasing and part["c"].is_unique  # the file's rows, in order
    assert part["c"].iloc[-1] > 4_000  # drawn from the whole file, not its head
    pd.testing.assert_frame_equal(part, source.read_sample(["c", "a"], 1_000, seed=3)[0])  # seeded
    whole, total = source.read_sample(None, 10_000, seed=3)  # more asked than there are: every row
    assert total == 5_000 and len(whole) == 5_000


def test_a_sample_of_another_source_is_drawn_from_its_rows(tmp_path):
    _frame(2_000).to_csv(tmp_path / "x.csv", index=False)
    part, total = resolve_source(str(tmp_path / "x.csv")).read_sample(["c"], 300, seed=1)
    assert total == 2_000 and len(part) == 300
    assert part["c"].is_monotonic_increasing and part["c"].is_unique
