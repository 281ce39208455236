"""The data interface layer: sources (files, SQL, MongoDB, Redis, memory) and column types.

A source is named by a URL-like string or a mapping and resolved by scheme or file suffix::

    frame = resolve_source("postgresql://host/crm?table=customers").read()
    resolve_source({"path": "out/scored.csv", "sep": ";"}).write(frame)

Importing this package registers the built-in kinds; none imports its driver
(redis, pymongo, a SQL driver) until it is used.
"""

from __future__ import annotations

from podium.data.files import FileSource
from podium.data.folder import FolderSource
from podium.data.memory import MemorySource
from podium.data.mongo import MongoSource
from podium.data.redis_source import RedisSource
from podium.data.source import Source, WriteMode, register_source, resolve_source, source_kinds
from podium.data.sql import SqlSource
from podium.data.types import ColumnType, infer_column_type, infer_column_types

__all__ = [
    "Source",
    "WriteMode",
    "resolve_source",
    "register_source",
    "source_kinds",
    "ColumnType",
    "infer_column_types",
    "infer_column_type",
    "FileSource",
    "FolderSource",
    "SqlSource",
    "RedisSource",
    "MongoSource",
    "MemorySource",
]
