"""The in-memory source: a double for tests and for frames already in hand.

``MemorySource(frame)`` wraps one frame; ``memory-table://name`` names a frame in
``memory_tables``, shared by every source of that name in the process.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from podium._internal.suggest import did_you_mean
from podium.data.source import Source, WriteMode, register_source
from podium.errors import DataError, SchemaError, SourceError

__all__ = ["MemorySource", "memory_tables"]

memory_tables: dict[str, pd.DataFrame] = {}
"""Named frames behind ``memory-table://name`` URLs."""


class MemorySource(Source):
    """A frame held in memory: given directly, or by name in ``memory_tables``."""

    kind = "memory-table"

    def __init__(self, frame: pd.DataFrame | None = None, *, name: str | None = None) -> None:
        if (frame is None) == (name is None):
            raise SourceError("A memory source needs either a frame or a name, not both or neither.")
        self.name = name
        self._frame = None if frame is None else frame.copy()

    def read(self) -> pd.DataFrame:
        frame = self._stored()
        if frame is None:
            raise SourceError(
                f"No memory table named '{self.name}'. "
                f"{did_you_mean(self.name or '', memory_tables)}".rstrip(),
                hint="write a frame to it first.",
            )
        if len(frame) == 0:
            raise DataError(f"'{self.describe()}' has no rows.")
        return frame.copy()

    def write(self, frame: pd.DataFrame, *, mode: WriteMode = "replace") -> None:
        if mode not in ("replace", "append"):
            raise SourceError(f"'{mode}' is not a write mode.", hint="use replace or append.")
        existing = self._stored()
        if mode == "append" and existing is not None:
            if set(existing.columns) != set(frame.columns):
                raise SchemaError(
                    f"Cannot append to '{self.describe()}': its columns "
                    f"{sorted(map(str, existing.columns))} differ from "
                    f"{sorted(map(str, frame.columns))}."
                )
            frame = pd.concat([existing, frame[list(existing.columns)]], ignore_index=True)
        else:
            frame = frame.reset_index(drop=True)
        if self.name is not None:
            memory_tables[self.name] = frame.copy()
        else:
            self._frame = frame.copy()

    def describe(self) -> str:
        if self.name is not None:
            return f"memory-table://{self.name}"
        assert self._frame is not None
        rows, columns = self._frame.shape
        return f"memory frame ({rows} rows × {columns} columns)"

    def _stored(self) -> pd.DataFrame | None:
        return memory_tables.get(self.name) if self.name is not None else self._frame


@register_source("memory-table")
def _make(url: str, options: Mapping[str, Any]) -> Source:
    options = dict(options)
    name = urlsplit(url).netloc + urlsplit(url).path if url else options.pop("name", None)
    if not name:
        raise SourceError(
            f"'{url}' names no memory table.", hint="use memory-table://NAME or {name: NAME}."
        )
    if options:
        raise SourceError(f"A memory table takes no options; got {sorted(options)}.")
    return MemorySource(name=str(name))
