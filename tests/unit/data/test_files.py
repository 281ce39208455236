"""File sources: every format round-trips, locally and through fsspec; every failure is one line."""

from __future__ import annotations

import gzip
import importlib.util
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from podium.data import FileSource, resolve_source
from podium.data.files import FILE_KINDS, FILE_SCHEMES, suffix_kind
from podium.errors import DataError, SchemaError, SourceError

FRAME = pd.DataFrame(
    {
        "id": [1, 2, 3],
        "city": ["Lyon", "Oslo", None],
        "score": [1.5, np.nan, 2.25],
        "active": [True, False, True],
    }
)

SUFFIXES = [
    "x.csv", "x.tsv", "x.csv.gz", "x.csv.bz2", "x.parquet", "x.pq", "x.json", "x.json.gz",
    "x.jsonl", "x.ndjson", "x.jsonl.gz", "x.xlsx",
]


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("data/train.csv", "csv"),
        ("data/train.TSV", "csv"),
        ("train.csv.gz", "csv"),
        ("s3://bucket/a/b.parquet", "parquet"),
        ("x.pq", "parquet"),
        ("https://host/x.json?version=2", "json"),
        ("events.jsonl", "jsonl"),
        ("events.ndjson.gz", "jsonl"),
        ("book.xlsx", "excel"),
        ("book.xls", "excel"),
        (r"C:\data\train.csv", "csv"),
        ("data/train.txt", None),
        ("data/train", None),
        ("archive.gz", None),
    ],
)
def test_suffix_kind(url: str, kind: str | None) -> None:
    assert suffix_kind(url) == kind


def test_file_constants() -> None:
    assert FILE_KINDS == {"csv", "parquet", "json", "jsonl", "excel"}
    assert {"", "file", "s3", "gs", "memory", "https"} <= FILE_SCHEMES


@pytest.mark.parametrize("name", SUFFIXES)
def test_round_trip_local(tmp_path: Path, name: str) -> None:
    path = tmp_path / "deep" / "er" / name  # parent folders are created
    source = resolve_source(str(path))
    source.write(FRAME)
    pd.testing.assert_frame_equal(source.read(), FRAME, check_dtype=False)
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("name", ["x.csv", "x.csv.gz", "x.parquet", "x.jsonl", "x.xlsx"])
def test_round_trip_fsspec_memory(name: str) -> None:
    url = f"memory://podium-tests/{os.getpid()}/{name}"
    source = resolve_source(url)
    source.write(FRAME)
    pd.testing.assert_frame_equal(source.read(), FRAME, check_dtype=False)
    assert source.describe() == url


def test_file_url_is_local(tmp_path: Path) -> None:
    source = resolve_source(f"file://{tmp_path}/x.csv")
    source.write(FRAME)
    assert (tmp_path / "x.csv").exists()
    assert len(source.read()) == 3


def test_tsv_uses_tabs(tmp_path: Path) -> None:
    resolve_source(str(tmp_path / "x.tsv")).write(FRAME)
    assert (tmp_path / "x.tsv").read_text().splitlines()[0] == "id\tcity\tscore\tactive"


def test_compressed_csv_is_compressed(tmp_path: Path) -> None:
    resolve_source(str(tmp_path / "x.csv.gz")).write(FRAME)
    assert gzip.decompress((tmp_path / "x.csv.gz").read_bytes()).startswith(b"id,city")


def test_options_reach_reader_and_writer(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    source = resolve_source({"path": str(path), "sep": ";", "usecols": ["id", "city"]})
    source.write(FRAME)
    assert path.read_text().splitlines()[0] == "id;city;score;active"  # usecols: read only
    assert list(source.read().columns) == ["id", "city"]


def test_kind_from_mapping_overrides_suffix(tmp_path: Path) -> None:
    path = tmp_path / "export.txt"
    path.write_text("a|b\n1|2\n")
    frame = resolve_source({"path": str(path), "kind": "csv", "sep": "|"}).read()
    assert frame.to_dict("records") == [{"a": 1, "b": 2}]


def test_excel_sheet_name_option(tmp_path: Path) -> None:
    source = FileSource(tmp_path / "book.xlsx", sheet_name="customers")
    source.write(FRAME)
    with pd.ExcelFile(tmp_path / "book.xlsx") as book:
        assert book.sheet_names == ["customers"]
    assert len(source.read()) == 3


def test_append(tmp_path: Path) -> None:
    source = FileSource(tmp_path / "x.parquet")
    source.write(FRAME, mode="append")  # nothing there yet: a plain write
    source.write(FRAME[["active", "score", "city", "id"]], mode="append")
    frame = source.read()
    assert list(frame.columns) == list(FRAME.columns)
    assert frame["id"].tolist() == [1, 2, 3, 1, 2, 3]


def test_append_with_other_columns(tmp_path: Path) -> None:
    source = FileSource(tmp_path / "x.csv")
    source.write(FRAME)
    with pytest.raises(SchemaError, match=r"Cannot append to '.*x\.csv': its columns .* differ"):
        source.write(FRAME.drop(columns="score"), mode="append")


def test_replace_is_atomic_on_failure(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    source = FileSource(path)
    source.write(FRAME)
    before = path.read_bytes()
    bad = pd.DataFrame({"a": [object()]})  # pyarrow cannot store a bare object
    with pytest.raises(SourceError, match=r"Cannot write '.*x\.parquet' as parquet: "):
        source.write(bad)
    assert path.read_bytes() == before


def test_fingerprint_hashes_bytes_and_follows_changes(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    source = FileSource(path)
    source.write(FRAME)
    first = source.fingerprint()
    assert FileSource(path).fingerprint() == first
    assert FileSource(path, sep=";").fingerprint() != first  # same bytes, another table
    source.write(FRAME.head(2))
    assert source.fingerprint() != first


def test_fingerprint_of_a_parquet_folder(tmp_path: Path) -> None:
    folder = tmp_path / "dataset.parquet"
    folder.mkdir()
    FRAME.to_parquet(folder / "part-0.parquet")
    source = FileSource(folder)
    first = source.fingerprint()
    assert len(source.read()) == 3
    FRAME.to_parquet(folder / "part-1.parquet")
    assert source.fingerprint() != first
    assert len(source.read()) == 6


# failures -----------------------------------------------------------------------------


def test_missing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SourceError, match=r"^File 'x\.csv' does not exist\. Hint: check the path"):
        resolve_source("x.csv").read()


def test_missing_file_suggests_a_close_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    FRAME.to_csv(tmp_path / "data" / "customers.csv", index=False)
    with pytest.raises(SourceError, match=r"Hint: did you mean 'data/customers\.csv'\?"):
        resolve_source("data/custmers.csv").read()


def test_missing_file_fingerprint(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        FileSource(tmp_path / "x.parquet").fingerprint()


def test_missing_remote_file() -> None:
    with pytest.raises(SourceError, match=r"^File 'memory://nowhere/x\.csv' does not exist\."):
        resolve_source("memory://nowhere/x.csv").read()


@pytest.mark.parametrize("name", ["x.csv", "x.parquet", "x.json", "x.jsonl", "x.xlsx"])
def test_empty_file(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(b"")
    with pytest.raises(DataError, match=rf"^'.*{name}' has no rows\."):
        resolve_source(str(tmp_path / name)).read()


@pytest.mark.parametrize(("name", "content"), [("x.csv", "a,b\n"), ("x.json", "[]"), ("x.jsonl", "\n")])
def test_no_rows(tmp_path: Path, name: str, content: str) -> None:
    (tmp_path / name).write_text(content)
    with pytest.raises(DataError, match=r"has no rows\."):
        resolve_source(str(tmp_path / name)).read()


def test_empty_parquet_table(tmp_path: Path) -> None:
    FRAME.head(0).to_parquet(tmp_path / "x.parquet")
    with pytest.raises(DataError, match=r"'.*x\.parquet' has no rows\."):
        resolve_source(str(tmp_path / "x.parquet")).read()


@pytest.mark.parametrize(
    ("name", "content", "pattern"),
    [
        ("x.parquet", b"not parquet at all", r"Cannot read '.*x\.parquet' as parquet: .*Hint: check"),
        ("x.xlsx", b"not a zip", r"Cannot read '.*x\.xlsx' as excel: File is not a zip file\."),
        ("x.json", b"{oops", r"Cannot read '.*x\.json' as json: "),
        ("x.jsonl", b'{"a": 1}\n{oops\n', r"Cannot read '.*x\.jsonl' as jsonl: "),
        ("x.csv", b'a,b\n1,2\n3,4,5\n', r"Cannot read '.*x\.csv' as csv: .*Expected 2 fields.*sep"),
        ("x.csv", "é,ü\n1,2\n".encode("latin-1"), r"not utf-8 text\. Hint: set the encoding"),
    ],
)
def test_corrupt_file_is_one_line(tmp_path: Path, name: str, content: bytes, pattern: str) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(SourceError, match=pattern) as caught:
        resolve_source(str(tmp_path / name)).read()
    assert "\n" not in str(caught.value)


def test_xls_needs_xlrd_or_says_so(tmp_path: Path) -> None:
    (tmp_path / "x.xls").write_bytes(b"\xd0\xcf\x11\xe0old excel")
    if importlib.util.find_spec("xlrd") is None:
        with pytest.raises(
            SourceError,
            match=r"Cannot read '.*x\.xls': it needs xlrd, which "
            r"is not installed\. Hint: pip install xlrd$",
        ):
            resolve_source(str(tmp_path / "x.xls")).read()
    else:
        with pytest.raises(SourceError, match=r"Cannot read '.*x\.xls' as excel: "):
            resolve_source(str(tmp_path / "x.xls")).read()
    with pytest.raises(SourceError, match=r"pandas writes Excel only as \.xlsx"):
        resolve_source(str(tmp_path / "y.xls")).write(FRAME)


def test_compressed_parquet_is_refused() -> None:
    with pytest.raises(SourceError, match=r"parquet files are compressed inside.*Hint: decompress"):
        resolve_source("x.parquet.gz")


def test_unknown_option_suggests() -> None:
    with pytest.raises(SourceError, match=r"^'sepp' is not an option of a csv file\. Did you mean 'sep'\?"):
        resolve_source({"path": "x.csv", "sepp": ";"})


def test_unknown_format() -> None:
    with pytest.raises(SourceError, match=r"'cvs' is not a file format\. Did you mean 'csv'\?"):
        FileSource("x.txt", "cvs")
    with pytest.raises(SourceError, match=r"Cannot tell the file format of 'x\.txt'"):
        FileSource("x.txt")


def test_unknown_write_mode(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"'upsert' is not a write mode"):
        FileSource(tmp_path / "x.csv").write(FRAME, mode="upsert")  # type: ignore[arg-type]


def test_password_in_url_is_redacted() -> None:
    source = resolve_source("https://user:s3cret@example.invalid/x.csv")
    assert source.describe() == "https://user:***@example.invalid/x.csv"
    assert "s3cret" not in repr(source)


def test_write_failure_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SourceError, match=r"^Cannot write '.*file/x\.csv': .*\. Hint: check the folder"):
        FileSource(blocker / "x.csv").write(FRAME)


def test_missing_compression_library_says_what_to_install(tmp_path: Path) -> None:
    if importlib.util.find_spec("zstandard") is None:
        with pytest.raises(
            SourceError,
            match=r"^Cannot write '.*x\.csv\.zst': it needs zstandard, which "
            r"is not installed\. Hint: pip install zstandard$",
        ):
            FileSource(tmp_path / "x.csv.zst").write(FRAME)
    else:
        FileSource(tmp_path / "x.csv.zst").write(FRAME)
        assert len(FileSource(tmp_path / "x.csv.zst").read()) == 3
