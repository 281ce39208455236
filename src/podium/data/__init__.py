"""The data interface layer: sources (files, SQL, MongoDB, Redis, memory) and column types.

A source is named by a URL-like string or a mapping and resolved by scheme or file suffix::

    frame = resolve_source("postgresql://host/crm?table=customers").read()
    resolve_source({"path": "out/scored.csv", "sep": ";"}).write(frame)

The names below are imported on first use (a served compiled model needs ``ColumnType``
only, and no pandas); the built-in kinds are registered before any source is resolved, and
none imports its driver (redis, pymongo, a SQL driver) until it is used.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from podium.data.types import ColumnType

if TYPE_CHECKING:
    from podium.data.files import FileSource
    from podium.data.folder import FolderSource
    from podium.data.memory import MemorySource
    from podium.data.mongo import MongoSource
    from podium.data.redis_source import RedisSource
    from podium.data.source import Source, WriteMode, register_source, resolve_source, sample_rows, source_kinds
    from podium.data.sql import SqlSource
    from podium.data.types import infer_column_type, infer_column_types

_EXPORTS = {
    "Source": "podium.data.source",
    "WriteMode": "podium.data.source",
    "resolve_source": "podium.data.source",
    "sample_rows": "podium.data.source",
    "register_source": "podium.data.source",
    "source_kinds": "podium.data.source",
    "infer_column_types": "podium.data.types",
    "infer_column_type": "podium.data.types",
    "FileSource": "podium.data.files",
    "FolderSource": "podium.data.folder",
    "SqlSource": "podium.data.sql",
    "RedisSource": "podium.data.redis_source",
    "MongoSource": "podium.data.mongo",
    "MemorySource": "podium.data.memory",
}

# Spelled out (not built from _EXPORTS) so type checkers see what the package exports.
__all__ = [
    "ColumnType",
    "Source",
    "WriteMode",
    "resolve_source",
    "sample_rows",
    "register_source",
    "source_kinds",
    "infer_column_types",
    "infer_column_type",
    "FileSource",
    "FolderSource",
    "SqlSource",
    "RedisSource",
    "MongoSource",
    "MemorySource",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'podium.data' has no attribute {name!r}")
    import_module("podium.data.source").register_builtin_sources()
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
