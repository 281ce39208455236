"""Plain JSON for what the registry stores: numpy, pandas and dates become JSON values."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from pathlib import PurePath
from typing import Any

import numpy as np
__all__ = ["to_jsonable", "dumps", "loads"]


def to_jsonable(value: Any) -> Any:
    """``value`` as JSON can carry it: NaN and infinities become null, tuples lists."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if type(value).__name__ in ("NaTType", "NAType"):  # pandas' missing markers (pandas not imported)
        return None
    if isinstance(value, Enum):
        return to_jsonable(value.value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((to_jsonable(v) for v in value), key=str)
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, (datetime, date)) or hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    if hasattr(value, "model_dump"):
        return to_jsonable(value.model_dump(mode="json"))
    return str(value)


def dumps(value: Any, *, indent: int | None = None) -> str:
    return json.dumps(to_jsonable(value), allow_nan=False, indent=indent, ensure_ascii=False)


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)
