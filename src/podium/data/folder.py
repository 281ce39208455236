"""A folder where files are dropped: every matching file, read and stacked, is the table.

``folder://data/incoming?pattern=*.csv`` (or a mapping ``{kind: folder, path: …, pattern: …}``).
The fingerprint is taken from the files' names, sizes and modification times, so a watcher
polls it cheaply; a file still being written changes it, which is how bursts are debounced.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd

from podium._internal.fingerprint import json_fingerprint
from podium.data.files import FileSource
from podium.data.source import Source, register_source
from podium.errors import DataError, SourceError

__all__ = ["FolderSource"]


class FolderSource(Source):
    kind = "folder"

    def __init__(self, path: str | Path, *, pattern: str = "*.csv") -> None:
        self.path = Path(path)
        self.pattern = pattern

    def files(self) -> list[Path]:
        if not self.path.is_dir():
            raise SourceError(f"Folder '{self.path}' does not exist.", hint="create it or check the path")
        return sorted(p for p in self.path.glob(self.pattern) if p.is_file() and not p.name.startswith("."))

    def read(self) -> pd.DataFrame:
        files = self.files()
        if not files:
            raise DataError(f"Folder '{self.path}' has no files matching '{self.pattern}'.")
        return pd.concat([FileSource(str(f)).read() for f in files], ignore_index=True)

    def fingerprint(self) -> str:
        return json_fingerprint([(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in self.files()])

    def describe(self) -> str:
        return f"folder {self.path}/{self.pattern}"


@register_source("folder")
def _folder(url: str, options: Mapping[str, Any]) -> Source:
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    path = options.get("path") or (parts.netloc + parts.path if url else "")
    return FolderSource(path, pattern=str(options.get("pattern") or query.get("pattern") or "*.csv"))
