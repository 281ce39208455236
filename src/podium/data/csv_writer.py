"""CSV text as pandas' ``to_csv(index=False)`` writes it, built column-wise with pyarrow.

pandas formats every float with numpy and joins the fields with Python's csv module, about
5 µs a row for a table of ten columns; pyarrow's kernels do the same work in a fraction of that,
but they write ``1`` for ``1.0``, ``true`` for ``True`` and switch to exponents at other
magnitudes. ``render_csv`` uses pyarrow's kernels and corrects what they write differently, so
the bytes are pandas' own: the float columns pyarrow lays out otherwise (exponents, magnitudes
under 1e-4 or from 1e16) take Python's ``repr``, the shortest text that reads back as the same
float, as numpy does. It answers ``None`` for what it does not know to write exactly as pandas
(other dtypes, a single column, a carriage return inside a field): the caller then asks pandas.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["render_csv"]

# fields holding one of these are quoted, as Python's csv module does (QUOTE_MINIMAL, "\n" lines)
_SPECIAL = b',"\n'
# numpy (and Python's repr) write a float positionally from 1e-4 up to 1e16, with exponents outside
_POSITIONAL_LOW, _POSITIONAL_HIGH = 1e-4, 1e16


def render_csv(frame: pd.DataFrame, *, header: bool) -> bytes | None:
    """``frame.to_csv(index=False, header=header)`` as UTF-8 bytes, or ``None`` where this module
    cannot be sure to write the same bytes (pandas should write that frame)."""
    if len(frame.columns) < 2 or len(frame) == 0 or not isinstance(frame.columns, pd.Index) \
            or isinstance(frame.columns, pd.MultiIndex):
        return None  # pandas quotes a lone empty field; an empty frame is pandas' to write quickly
    fields: list[pa.Array] = []
    for _, column in frame.items():
        text = _column_text(column)
        if text is None:
            return None
        fields.append(text)
    names = list(frame.columns)
    if not all(isinstance(name, str) and "\r" not in name for name in names):
        return None
    try:
        fields[-1] = pc.binary_join_element_wise(fields[-1], "\n", "")
        rows = pc.binary_join_element_wise(*fields, ",")
    except pa.ArrowException:  # a batch of more than 2 GiB of text: pandas writes it
        return None
    body = _value_bytes(rows)
    if not header:
        return body
    line = ",".join(_quoted(name) for name in names) + "\n"
    return line.encode() + body


def _column_text(column: pd.Series) -> pa.Array | None:
    """A column's fields as pandas writes them (no nulls, quoted where needed), or ``None``."""
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        if dtype.categories.dtype != object:
            return None
        column = column.astype(object)
        dtype = column.dtype
    if not isinstance(dtype, np.dtype):
        return None  # nullable and extension dtypes (Int64, string, datetime with a zone...)
    values = column.to_numpy()
    if dtype == np.float64:
        return _float64_text(values)
    if dtype.kind == "f":  # float32 and float16: pandas asks numpy for their shortest text
        text = values.astype(str)
        text[np.isnan(values)] = ""
        return pa.array(text, pa.string())
    if dtype.kind in "iu":
        return pc.cast(pa.array(values), pa.string())
    if dtype.kind == "b":
        return pc.if_else(pa.array(values), "True", "False")
    if dtype.kind == "O":
        return _object_text(values)
    return None


def _object_text(values: np.ndarray) -> pa.Array | None:
    """Strings (missing values as empty fields), quoted as the csv module quotes them."""
    try:
        array = pa.array(values, from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError):
        return None  # mixed types: str() of each is pandas' to do
    if pa.types.is_null(array.type):
        return pa.array(np.full(len(values), "", dtype=object), pa.string())
    if pa.types.is_boolean(array.type):
        return pc.fill_null(pc.if_else(array, "True", "False"), "")
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        return None
    array = pc.fill_null(array, "")
    found = _bytes_found(array, _SPECIAL + b"\r")
    if b"\r" in found:
        return None  # Python's csv module quotes "\r" in some versions, not in others
    if found:
        special = pc.or_(pc.or_(pc.match_substring(array, ","), pc.match_substring(array, "\"")),
                         pc.match_substring(array, "\n"))
        quoted = pc.binary_join_element_wise("\"", pc.replace_substring(array, "\"", "\"\""), "\"", "")
        array = pc.if_else(special, quoted, array)
    return array


def _float64_text(values: np.ndarray) -> pa.Array:
    """numpy's text of each float (Python's repr), missing values as empty fields."""
    magnitude = np.abs(values)
    with np.errstate(invalid="ignore"):
        # outside numpy's positional range, and for nan and inf, each value takes Python's repr
        own = ~((magnitude < _POSITIONAL_HIGH) & ((magnitude >= _POSITIONAL_LOW) | (values == 0)))
    if not _arrow_writes_floats_as_repr():
        own[:] = True
    text = pc.cast(pa.array(values), pa.string())
    own |= pc.match_substring(text, "e").to_numpy(zero_copy_only=False)
    # pyarrow writes an integral float without its ".0" (and may use an exponent: taken above)
    integral = pc.invert(pc.match_substring(text, "."))
    text = pc.if_else(integral, pc.binary_join_element_wise(text, ".0", ""), text)
    if own.any():
        mine = ["" if v != v else repr(v) for v in values[own].tolist()]
        text = pc.replace_with_mask(text, pa.array(own), pa.array(mine, pa.string()))
    return text


@cache
def _arrow_writes_floats_as_repr() -> bool:
    """Whether this pyarrow writes the shortest round-trip digits laid out as Python does in the
    positional range, once ``.0`` is added to integral values (checked once, on tricky values)."""
    sample = np.array([0.1, 0.2 + 0.1, 1 / 3, 2 / 3, 1.0, -2.5, 100.0, 0.0001, 0.00012345, 123456.789,
                       9007199254740993.0, 1e15 + 0.5, 299792458.0, 6.02214076e15,
                       1234567890.0625, 0.30000000000000004, 4.35, 2.675, 1e-4 + 1e-20, 9999999999999998.0])
    text = pc.cast(pa.array(sample), pa.string()).to_pylist()
    for value, written in zip(sample.tolist(), text):
        if "e" in written or not _POSITIONAL_LOW <= abs(value) < _POSITIONAL_HIGH:
            continue
        if ("." in written and written != repr(value)) or ("." not in written and written + ".0" != repr(value)):
            return False
    return True


def _bytes_found(array: pa.Array, wanted: bytes) -> set[bytes]:
    """Which of the ``wanted`` bytes occur anywhere in a string array's values (one scan)."""
    data = array.buffers()[2]
    if data is None:
        return set()
    scanned = np.frombuffer(data, dtype=np.uint8)
    return {bytes([b]) for b in wanted if (scanned == b).any()}


def _quoted(field: str) -> str:
    if any(c in field for c in ',"\n'):
        return '"' + field.replace('"', '""') + '"'
    return field


def _value_bytes(rows: Any) -> bytes:
    """The concatenated values of a string array (no nulls): the rows, each ending with "\\n"."""
    rows = rows.combine_chunks() if isinstance(rows, pa.ChunkedArray) else rows
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32 if pa.types.is_string(rows.type) else np.int64)
    start, end = int(offsets[rows.offset]), int(offsets[rows.offset + len(rows)])
    body: bytes = rows.buffers()[2][start:end].to_pybytes()
    return body
