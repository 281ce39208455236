"""File sources: CSV, Parquet, JSON, JSON Lines and Excel, local or on any fsspec store.

A path resolves by its suffix (``data/train.csv``, ``s3://bucket/x.parquet``,
``events.jsonl.gz``); options of a mapping (``{path: x.csv, sep: ";"}``) go to the
pandas reader and, where the writer takes them too, to the writer. Local files are
written atomically.
"""

from __future__ import annotations

import inspect
import io
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from podium._internal.atomic import atomic_write_bytes
from podium._internal.fingerprint import file_fingerprint, json_fingerprint
from podium._internal.redact import redact_url
from podium._internal.suggest import did_you_mean
from podium.data.source import BatchWriter, Source, WriteMode, register_source
from podium.errors import DataError, PodiumError, SchemaError, SourceError

__all__ = ["FILE_SCHEMES", "FILE_KINDS", "FileSource", "suffix_kind"]

FILE_SCHEMES = frozenset(
    {"", "file", "s3", "gs", "gcs", "az", "abfs", "http", "https", "memory"}
)
"""URL schemes that name a file read through fsspec (``""`` is a local path)."""

FILE_KINDS = frozenset({"csv", "parquet", "json", "jsonl", "excel"})

_SUFFIX_KINDS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".xlsx": "excel",
    ".xls": "excel",
}
_COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd", ".zip": "zip"}
# parquet and Excel compress inside the file; pandas does not unwrap an outer layer
_COMPRESSIBLE = {"csv", "json", "jsonl"}

_EXCEL_ENGINES = {".xlsx": "openpyxl", ".xls": "xlrd"}
_PARQUET_BATCH = 262_144
# the kinds a local, uncompressed file reads and writes a batch at a time
_STREAMED = frozenset({"csv", "jsonl", "parquet"})

_READERS: dict[str, Callable[..., pd.DataFrame]] = {
    "csv": pd.read_csv,
    "parquet": pd.read_parquet,
    "json": pd.read_json,
    "jsonl": pd.read_json,
    "excel": pd.read_excel,
}
_WRITERS: dict[str, Callable[..., Any]] = {
    "csv": pd.DataFrame.to_csv,
    "parquet": pd.DataFrame.to_parquet,
    "json": pd.DataFrame.to_json,
    "jsonl": pd.DataFrame.to_json,
    "excel": pd.DataFrame.to_excel,
}
# round_trip: a float written by podium (or pandas) reads back as the same float (pandas 2's
# default parser may differ in the last digit, so a re-uploaded table would look changed)
_READ_DEFAULTS: dict[str, dict[str, Any]] = {"jsonl": {"lines": True}, "csv": {"float_precision": "round_trip"}}
_WRITE_DEFAULTS: dict[str, dict[str, Any]] = {
    "csv": {"index": False},
    "parquet": {"index": False},
    "json": {"orient": "records", "date_format": "iso"},
    "jsonl": {"orient": "records", "lines": True, "date_format": "iso"},
    "excel": {"index": False},
}


def _split_suffixes(url: str) -> tuple[str, str | None]:
    """The format suffix and the compression suffix of a path or URL, lowercased."""
    parts = urlsplit(url)
    path = parts.path if len(parts.scheme) > 1 else url
    name = re.split(r"[/\\]", path.rstrip("/\\"))[-1].lower()
    suffixes = ["." + part for part in name.split(".")[1:]]
    compression = None
    if suffixes and suffixes[-1] in _COMPRESSIONS:
        compression = suffixes.pop()
    return (suffixes[-1] if suffixes else ""), compression


def suffix_kind(url: str) -> str | None:
    """The file kind a path's suffix names (``"x.csv.gz"`` → ``"csv"``), or ``None``."""
    suffix, _ = _split_suffixes(url)
    return _SUFFIX_KINDS.get(suffix)


def _local_path(url: str) -> Path | None:
    """The local path a URL names, or ``None`` for a remote fsspec URL."""
    parts = urlsplit(url)
    if len(parts.scheme) <= 1:  # no scheme, or a Windows drive letter
        return Path(url).expanduser()
    if parts.scheme.lower() == "file":
        return Path(parts.netloc + parts.path)
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    line = text.splitlines()[0].strip()
    return line if len(line) <= 200 else line[:197] + "..."


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else text + "."


class FileSource(Source):
    """A table in one file (or a parquet folder), read and written with pandas.

    ``options`` go to the pandas reader (``sep``, ``sheet_name``, ``columns``...) and,
    where the pandas writer takes them too, to the writer; ``storage_options`` go to
    fsspec for remote URLs.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        format: str | None = None,
        *,
        storage_options: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> None:
        self.path = os.fspath(path)
        kind = format or suffix_kind(self.path)
        if kind is None:
            raise SourceError(
                f"Cannot tell the file format of '{self.describe()}'.",
                hint="use a suffix .csv/.parquet/.json/.jsonl/.xlsx, or pass format='csv'.",
            )
        if kind not in FILE_KINDS:
            raise SourceError(
                f"'{kind}' is not a file format. {did_you_mean(kind, FILE_KINDS)}".rstrip()
            )
        self.kind = kind
        self.storage_options = dict(storage_options or {})
        self.options = dict(options)
        self._local = _local_path(self.path)
        suffix, compression = _split_suffixes(self.path)
        if compression is not None and kind not in _COMPRESSIBLE:
            raise SourceError(
                f"'{self.describe()}' is not supported: {kind} files are compressed inside, "
                f"not with an outer '{compression}'.",
                hint=f"decompress it, or save it without the '{compression}' suffix.",
            )
        self._compression = _COMPRESSIONS.get(compression or "")
        self._check_options()
        if suffix == ".tsv" and kind == "csv":
            self.options.setdefault("sep", "\t")
        if kind == "excel" and "engine" not in self.options and suffix in _EXCEL_ENGINES:
            # without it pandas says only "format cannot be determined" for a broken file
            self.options["engine"] = _EXCEL_ENGINES[suffix]

    def describe(self) -> str:
        return redact_url(self.path)

    # reading -----------------------------------------------------------------------

    def read(self) -> pd.DataFrame:
        return self._read(None)

    def read_columns(self, columns: Sequence[str]) -> pd.DataFrame:
        """Only these columns: a parquet file reads no other column chunk, a CSV file parses no
        other field (``usecols``); other formats read everything and keep these."""
        if self.kind not in ("csv", "parquet"):
            return super().read_columns(columns)
        return self._read(list(columns))

    def read_sample(self, columns: Sequence[str] | None, rows: int, seed: int) -> tuple[pd.DataFrame, int]:
        """A local parquet file converts only the drawn rows (each row kept with probability rows ÷
        the file's rows: about ``rows`` of them); other files are read whole, then drawn from."""
        path = self._parquet_path
        if path is None:
            return super().read_sample(columns, rows, seed)
        frame = self._read(None if columns is None else list(columns), sample=(rows, seed))
        import pyarrow.parquet as pq

        return frame, pq.ParquetFile(path).metadata.num_rows

    @property
    def _parquet_path(self) -> Path | None:
        """The file, when this is a local parquet file (read in batches, only the columns asked)."""
        return self._local if self.kind == "parquet" and self._local is not None and self._local.is_file() else None

    def _read(self, columns: list[str] | None, sample: tuple[int, int] | None = None) -> pd.DataFrame:
        self._check_exists()
        name = self.describe()
        options = self._read_options()
        if columns is not None:
            options["usecols" if self.kind == "csv" else "columns"] = columns
        try:
            path = self._parquet_path
            if path is not None:
                frame = _read_parquet(path, options.get("columns"), sample)
            else:
                frame = _READERS[self.kind](self._target(), **options)
        except FileNotFoundError:
            raise SourceError(f"File '{name}' does not exist.", hint=self._missing_hint()) from None
        except pd.errors.EmptyDataError:
            raise DataError(f"'{name}' has no rows.", hint="check that the file is complete.") from None
        except ImportError as exc:
            raise _missing_library(f"Cannot read '{name}'", exc) from None
        except UnicodeDecodeError as exc:
            raise SourceError(
                f"Cannot read '{name}' as {self.kind}: it is not {exc.encoding} text.",
                hint="set the encoding option, e.g. encoding: latin-1.",
            ) from None
        except Exception as exc:  # noqa: BLE001  (any reader failure becomes one line)
            raise SourceError(
                f"Cannot read '{name}' as {self.kind}: {_sentence(_first_line(exc))}",
                hint=self._corrupt_hint(),
            ) from None
        if len(frame) == 0:
            raise DataError(f"'{name}' has no rows.", hint="check that the file is complete.")
        return frame

    def read_batches(self, rows: int) -> Iterator[pd.DataFrame]:
        """A local csv, JSON Lines or parquet file a batch at a time (memory bounded by ``rows``)."""
        path = self._local
        if path is None or path.is_dir() or self.kind not in _STREAMED or self._compression:
            yield from super().read_batches(rows)
            return
        self._check_exists()
        name = self.describe()
        try:
            if self.kind == "csv":
                with pd.read_csv(path, chunksize=rows, **self._read_options()) as chunks:
                    yield from chunks
            elif self.kind == "jsonl":
                with pd.read_json(path, chunksize=rows, **self._read_options()) as records:
                    yield from records
            else:
                import pyarrow.parquet as pq

                columns = self.options.get("columns")
                for batch in pq.ParquetFile(path).iter_batches(batch_size=rows, columns=columns):
                    yield batch.to_pandas()
        except pd.errors.EmptyDataError:
            raise DataError(f"'{name}' has no rows.", hint="check that the file is complete.") from None
        except PodiumError:
            raise
        except Exception as exc:  # noqa: BLE001  (any reader failure becomes one line)
            raise SourceError(f"Cannot read '{name}' as {self.kind}: {_sentence(_first_line(exc))}",
                              hint=self._corrupt_hint()) from None

    def batch_writer(self) -> BatchWriter:
        path = self._local
        if path is None or self.kind not in _STREAMED or self._compression:
            return super().batch_writer()
        return _FileBatchWriter(self, path)

    def fingerprint(self) -> str:
        """For a local file, a hash of its bytes (and of the read options): no parsing."""
        if self._local is None:
            return super().fingerprint()
        self._check_exists()
        path = self._local
        if path.is_dir():
            content = {
                str(p.relative_to(path)): file_fingerprint(p)
                for p in sorted(path.rglob("*"))
                if p.is_file() and not p.name.startswith((".", "_"))
            }
        else:
            content = {"": file_fingerprint(path)}
        return json_fingerprint({"format": self.kind, "options": self.options, "files": content})

    # writing -----------------------------------------------------------------------

    def write(self, frame: pd.DataFrame, *, mode: WriteMode = "replace") -> None:
        if mode not in ("replace", "append"):
            raise SourceError(f"'{mode}' is not a write mode.", hint="use replace or append.")
        if _split_suffixes(self.path)[0] == ".xls":
            raise SourceError(
                f"Cannot write '{self.describe()}': pandas writes Excel only as .xlsx.",
                hint="write to a .xlsx file.",
            )
        if mode == "append" and self._exists():
            frame = self._appended(frame)
        if self._local is not None:
            data = self._render(frame)
            try:
                atomic_write_bytes(self._local, data)
            except OSError as exc:
                reason = exc.strerror or _first_line(exc)
                raise SourceError(
                    f"Cannot write '{self.describe()}': {_sentence(reason)}",
                    hint="check the folder exists or can be created, and that you may write there.",
                ) from None
        else:
            self._write_remote(frame)

    def _appended(self, frame: pd.DataFrame) -> pd.DataFrame:
        try:
            existing = self.read()
        except DataError:  # an empty file: nothing to keep
            return frame
        if set(existing.columns) != set(frame.columns):
            raise SchemaError(
                f"Cannot append to '{self.describe()}': its columns "
                f"{sorted(map(str, existing.columns))} differ from "
                f"{sorted(map(str, frame.columns))}.",
                hint="write with mode replace, or select the same columns.",
            )
        return pd.concat([existing, frame[list(existing.columns)]], ignore_index=True)

    def _render(self, frame: pd.DataFrame) -> bytes:
        fast = self._fast_csv(frame, header=True)
        if fast is not None:
            return fast
        buffer = io.BytesIO()
        try:
            _WRITERS[self.kind](frame, buffer, **self._write_options())
        except ImportError as exc:
            raise _missing_library(f"Cannot write '{self.describe()}'", exc) from None
        except Exception as exc:  # noqa: BLE001
            raise SourceError(
                f"Cannot write '{self.describe()}' as {self.kind}: {_sentence(_first_line(exc))}"
            ) from None
        return buffer.getvalue()

    def _write_remote(self, frame: pd.DataFrame) -> None:
        import fsspec

        name = self.describe()
        try:
            fs, path = fsspec.core.url_to_fs(self.path, **self.storage_options)
            parent = path.rsplit("/", 1)[0]
            if parent and parent != path:
                fs.makedirs(parent, exist_ok=True)
            with fs.open(path, "wb") as f:
                f.write(self._render(frame))
        except SourceError:
            raise
        except ImportError as exc:
            raise _missing_library(f"Cannot write '{name}'", exc) from None
        except Exception as exc:  # noqa: BLE001
            raise SourceError(f"Cannot write '{name}': {_sentence(_first_line(exc))}") from None

    def _fast_csv(self, frame: pd.DataFrame, *, header: bool) -> bytes | None:
        """The CSV bytes pandas would write with the default options, rendered by pyarrow
        (several times faster); ``None`` where pandas must write them (other options, dtypes)."""
        if self.kind != "csv" or self._write_options() != _WRITE_DEFAULTS["csv"]:
            return None
        from podium.data.csv_writer import render_csv

        return render_csv(frame, header=header)

    # helpers -----------------------------------------------------------------------

    def _target(self) -> str:
        return str(self._local) if self._local is not None else self.path

    def _read_options(self) -> dict[str, Any]:
        options = _READ_DEFAULTS.get(self.kind, {}) | _accepted(_READERS[self.kind], self.options)
        if self._local is None and self.storage_options:
            options["storage_options"] = self.storage_options
        return options

    def _write_options(self) -> dict[str, Any]:
        options = _WRITE_DEFAULTS[self.kind] | _accepted(_WRITERS[self.kind], self.options)
        if self._compression is not None and "compression" not in self.options:
            options["compression"] = self._compression
        if self.kind == "excel":
            options["engine"] = "openpyxl"  # the one writer pandas has
        return options

    def _check_options(self) -> None:
        known = set(_parameters(_READERS[self.kind])) | set(_parameters(_WRITERS[self.kind]))
        known -= {"self", "filepath_or_buffer", "path_or_buf", "path", "io", "excel_writer"}
        for name in self.options:
            if name not in known:
                raise SourceError(
                    f"'{name}' is not an option of a {self.kind} file. "
                    f"{did_you_mean(name, known)}".rstrip(),
                    hint=f"options go to pandas' {_READERS[self.kind].__name__}.",
                )

    def _exists(self) -> bool:
        if self._local is not None:
            return self._local.exists()
        import fsspec

        try:
            fs, path = fsspec.core.url_to_fs(self.path, **self.storage_options)
            return bool(fs.exists(path))
        except Exception:  # noqa: BLE001  (unknown: let the read or write say why)
            return False

    def _check_exists(self) -> None:
        if self._local is None:
            return
        name = self.describe()
        if not self._local.exists():
            raise SourceError(f"File '{name}' does not exist.", hint=self._missing_hint())
        if self._local.is_file() and self._local.stat().st_size == 0:
            raise DataError(f"'{name}' has no rows.", hint="the file is empty.")

    def _missing_hint(self) -> str:
        if self._local is None:
            return "check the URL and your access to it."
        folder = self._local.parent
        if folder.is_dir():
            siblings = [p.name for p in folder.iterdir() if suffix_kind(p.name) is not None]
            suggestion = did_you_mean(self._local.name, siblings)
            if suggestion.startswith("Did you mean"):
                close = suggestion.split("'")[1]
                shown = close if folder == Path(".") else str(Path(self.path).parent / close)
                return f"did you mean '{shown}'?"
        return f"check the path; relative paths start at {Path.cwd()}."

    def _corrupt_hint(self) -> str:
        if self.kind == "csv":
            return "check that it is CSV text and the separator (sep option) is right."
        return f"check that it is a complete, valid {self.kind} file."


def _read_parquet(path: Path, columns: list[str] | None, sample: tuple[int, int] | None = None) -> pd.DataFrame:
    """A local parquet file, ``_PARQUET_BATCH`` rows at a time (only ``columns``), turned into one
    frame in one conversion that frees each Arrow column as it goes (as ``pd.read_parquet``
    would type it: the file's pandas metadata applies). ``sample=(rows, seed)`` keeps each row
    with probability rows ÷ the file's rows (seeded) before anything is converted."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    read = parquet.iter_batches(batch_size=_PARQUET_BATCH, columns=columns)
    total = parquet.metadata.num_rows
    if sample is not None and total > sample[0]:
        rng = np.random.default_rng(sample[1])
        read = (batch.filter(pa.array(rng.random(batch.num_rows) < sample[0] / total)) for batch in read)
    batches = list(read)
    table = pa.Table.from_batches(batches, schema=None if batches else parquet.schema_arrow)
    del batches
    return table.to_pandas(split_blocks=True, self_destruct=True)


def _parameters(func: Callable[..., Any]) -> list[str]:
    return list(inspect.signature(func).parameters)


def _accepted(func: Callable[..., Any], options: Mapping[str, Any]) -> dict[str, Any]:
    names = set(_parameters(func))
    return {k: v for k, v in options.items() if k in names and k != "storage_options"}


def _missing_library(what: str, exc: ImportError) -> SourceError:
    """pandas and fsspec say "Install s3fs to access S3"; keep the library's name only."""
    match = re.search(r"(?:Install|Import|dependency) '?([\w-]+)'?", str(exc))
    if match is None:
        return SourceError(f"{what}: {_sentence(_first_line(exc))}")
    library = match.group(1)
    return SourceError(
        f"{what}: it needs {library}, which is not installed.", hint=f"pip install {library}"
    )


def _make(kind: str, url: str, options: Mapping[str, Any]) -> FileSource:
    options = dict(options)
    return FileSource(url, options.pop("format", kind), **options)


for _kind in sorted(FILE_KINDS):
    register_source(_kind)(partial(_make, _kind))


class _FileBatchWriter(BatchWriter):
    """Appends each batch to a temporary file next to the target, renamed into place on close."""

    def __init__(self, source: FileSource, path: Path) -> None:
        super().__init__(source)
        self.file = source
        self.path = path
        self.partial = path.with_name(f".{path.name}.partial")
        self.parquet: Any = None
        self.batches = 0

    def write(self, frame: pd.DataFrame) -> None:
        try:
            if self.batches == 0:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            fast = self.file._fast_csv(frame, header=self.batches == 0)
            if fast is not None:
                with open(self.partial, "wb" if self.batches == 0 else "ab") as out:
                    out.write(fast)
            elif self.file.kind == "csv":
                frame.to_csv(self.partial, mode="w" if self.batches == 0 else "a", header=self.batches == 0,
                             **{k: v for k, v in self.file._write_options().items() if k != "compression"})
            elif self.file.kind == "jsonl":  # one record a line: the batches' lines, one after the other
                mode = "w" if self.batches == 0 else "a"
                with open(self.partial, mode, encoding="utf-8", newline="") as out:
                    out.write(frame.to_json(**self.file._write_options()))
            else:
                import pyarrow as pa
                import pyarrow.parquet as pq

                table = pa.Table.from_pandas(frame, preserve_index=False)
                if self.parquet is None:
                    self.parquet = pq.ParquetWriter(self.partial, table.schema)
                self.parquet.write_table(table.cast(self.parquet.schema))
        except OSError as exc:
            raise SourceError(f"Cannot write '{self.file.describe()}': {_sentence(exc.strerror or _first_line(exc))}",
                              hint="check the folder exists or can be created, and that you may write there.") from None
        except (ValueError, TypeError) as exc:  # a later batch's column type differs (pyarrow cast)
            raise SourceError(f"Cannot write '{self.file.describe()}' as {self.file.kind}: "
                              f"{_sentence(_first_line(exc))}", hint="write to a .csv file instead.") from None
        self.batches += 1

    def close(self) -> None:
        if self.parquet is not None:
            self.parquet.close()
        if self.batches:
            os.replace(self.partial, self.path)

    def __exit__(self, kind: Any, *_: Any) -> None:
        if kind is None:
            self.close()
            return
        if self.parquet is not None:
            self.parquet.close()
        self.partial.unlink(missing_ok=True)
