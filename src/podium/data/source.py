"""The ``Source`` contract and the scheme registry that resolves a URL-like string to one.

A source reads a table into a DataFrame and writes one back. Each kind registers a
factory under its URL schemes; ``resolve_source`` picks it, so a new kind plugs in
(entry-point group ``podium.sources``) without touching the others.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from importlib import import_module
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Literal
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from podium._internal.fingerprint import frame_fingerprint
from podium._internal.named import Named
from podium._internal.redact import redact_url
from podium.config import resolve_secrets
from podium.errors import NotFoundError, SourceError

__all__ = ["Source", "BatchWriter", "WriteMode", "sample_rows", "source_kinds", "register_source", "resolve_source"]

WriteMode = Literal["replace", "append"]


class Source(ABC):
    """A table that lives somewhere: a file, a SQL table or query, a collection, keys."""

    #: the scheme(s) or kind this source answers to, for messages
    kind: str = "source"

    @abstractmethod
    def read(self) -> pd.DataFrame:
        """Download the whole table into a frame. Raise ``SourceError`` with one clear line."""

    def write(self, frame: pd.DataFrame, *, mode: WriteMode = "replace") -> None:
        """Upload a frame (e.g. scored rows). Sources that cannot be written say so."""
        raise SourceError(f"{self.describe()} cannot be written to.")

    def read_columns(self, columns: Sequence[str]) -> pd.DataFrame:
        """Only these columns of the table, in this order. Sources that can (parquet and CSV files,
        SQL tables) read no other column; the others read the whole table and keep these."""
        frame = self.read()
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise SourceError(f"{self.describe()} has no column {missing[0]!r}.",
                              hint=f"its columns: {', '.join(map(str, frame.columns[:20]))}")
        return frame[list(columns)]

    def read_sample(self, columns: Sequence[str] | None, rows: int, seed: int) -> tuple[pd.DataFrame, int]:
        """At most about ``rows`` rows drawn at random (``seed``), in the table's order, and how many
        rows the table has (only ``columns``; None: every column). Local parquet files convert
        only the drawn rows; other sources read the whole table first."""
        frame = self.read() if columns is None else self.read_columns(columns)
        return sample_rows(frame, rows, seed), len(frame)

    def read_batches(self, rows: int) -> Iterator[pd.DataFrame]:
        """The table in frames of at most ``rows`` rows. Sources that can read a part at a time
        (local csv, JSON Lines and parquet files) hold one batch in memory; the others read the
        whole table first."""
        frame = self.read()
        for start in range(0, len(frame), rows):
            yield frame.iloc[start:start + rows]

    def batch_writer(self) -> BatchWriter:
        """A writer that takes the table a batch at a time (``with source.batch_writer() as w``).
        Local files (csv, JSON Lines, parquet) are written as the batches come; other sinks get the
        whole table at the end."""
        return BatchWriter(self)

    def fingerprint(self) -> str:
        """A content fingerprint, used to detect that the data changed."""
        return frame_fingerprint(self.read())

    @abstractmethod
    def describe(self) -> str:
        """A short human description with secrets redacted (shown in messages and lineage)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"


def sample_rows(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    """``rows`` of the frame's rows drawn at random without replacement (``seed``), kept in their
    order; the frame itself when it has no more."""
    if len(frame) <= rows:
        return frame
    drawn = np.sort(np.random.default_rng(seed).choice(len(frame), size=rows, replace=False))
    return frame.iloc[drawn]


class BatchWriter:
    """Collects batches and writes them in one go on close (the default for any source)."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.frames: list[pd.DataFrame] = []

    def write(self, frame: pd.DataFrame) -> None:
        self.frames.append(frame)

    def close(self) -> None:
        if self.frames:
            self.source.write(pd.concat(self.frames, ignore_index=True))

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(self, kind: Any, *_: Any) -> None:
        if kind is None:
            self.close()


SourceFactory = Callable[[str, Mapping[str, Any]], Source]
"""Builds a source from its URL (or ``""``) and the mapping's other options."""

source_kinds: Named[SourceFactory] = Named("source scheme", "podium.sources", error=NotFoundError)


def register_source(*schemes: str) -> Callable[[SourceFactory], SourceFactory]:
    """Register a factory under one or more URL schemes (``"csv"`` for a file suffix too)."""

    def wrap(factory: SourceFactory) -> SourceFactory:
        for scheme in schemes:
            source_kinds.register(scheme, factory)
        return factory

    return wrap


def register_builtin_sources() -> None:
    """Import the built-in kinds (each registers itself); cheap after the first call."""
    for module in ("files", "folder", "memory", "mongo", "redis_source", "sql"):
        import_module(f"podium.data.{module}")


def resolve_source(spec: str | Mapping[str, Any] | Source) -> Source:
    """Turn ``"data/x.csv"``, ``"postgresql://…?table=t"`` or ``{url: …, query: …}`` into a Source.

    Local paths and fsspec URLs of files resolve by their suffix; other URLs by scheme.
    ``${NAME}`` references (a password kept in the environment) are resolved here, at use.
    """
    if isinstance(spec, Source):
        return spec
    register_builtin_sources()
    spec = resolve_secrets(spec, where="source")
    if isinstance(spec, Mapping):
        options = dict(spec)
        url = str(options.pop("url", options.pop("path", "")))
        kind = options.pop("kind", None)
    else:
        url, options, kind = str(spec), {}, None
    if kind is None:
        kind = _kind_of(url)
    return source_kinds.get(kind)(url, options)



def _kind_of(url: str) -> str:
    from podium.data import files  # noqa: F401  (registers the file kinds)

    scheme = urlsplit(url).scheme.lower()
    if len(scheme) <= 1:  # no scheme, or a Windows drive letter
        scheme = ""
    base = scheme.split("+", 1)[0]
    if base and base in source_kinds and base not in files.FILE_SCHEMES:
        return base
    suffix = files.suffix_kind(url)
    if suffix is not None:
        return suffix
    if not url:
        raise SourceError("No data source given.", hint="pass a file path or a URL like postgresql://host/db?table=t")
    raise SourceError(
        f"Cannot tell what kind of source '{redact_url(url)}' is.",
        hint="use a file ending in .csv/.parquet/.json/.jsonl/.xlsx or a URL with a scheme "
        f"({', '.join(sorted(k for k in source_kinds.names() if k not in files.FILE_KINDS))}).",
    )
