"""A dataset version uploaded to the console: the body checked and read as ``podium datasets
upload`` reads a file, each refusal one line.

The body was streamed to a private temporary file (capped while it was read); here it is
checked (not empty; Parquet's magic bytes at both ends; CSV as UTF-8, the failing byte
named), read, and refused when it holds no rows. The console is the control plane: a new
version can start a retraining and a promotion, so the model service (the data plane) takes
no uploads.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import pandas as pd

from podium.errors import DataError, PodiumError

__all__ = ["read_upload"]

_PARQUET_MAGIC = b"PAR1"


def read_upload(path: Path, kind: str) -> pd.DataFrame:
    """The rows of an uploaded ``csv`` or ``parquet`` file at ``path`` (named with its suffix)."""
    from podium.data.source import resolve_source

    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(4096)
        f.seek(max(0, size - 4))
        tail = f.read(4)
    if not head.strip():
        raise DataError("The upload is empty: send the file as the request body.")
    if kind == "parquet" and not (head.startswith(_PARQUET_MAGIC) and tail == _PARQUET_MAGIC):
        raise DataError("The upload is not a Parquet file. Send Parquet, or CSV with Content-Type: text/csv.")
    if kind == "csv":
        _check_utf8(path)
    try:
        frame = resolve_source(str(path)).read()
    except PodiumError as exc:  # the reader's own sentence, about "the file" (not this temporary one)
        text = str(exc).replace(f"'{path}'", "the file").replace(str(path), "the file")
        raise DataError(text[:1].upper() + text[1:]) from None
    except Exception as exc:  # noqa: BLE001  whatever the reader says, the file is the caller's problem
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"The upload is not a readable {'CSV' if kind == 'csv' else 'Parquet'} file: "
                        f"{text[:300].replace(str(path), 'the file')}") from None
    if len(frame) == 0 or len(frame.columns) == 0:
        raise DataError("The file has no rows: send a header line and at least one row.")
    return frame


def _check_utf8(path: Path) -> None:
    """A DataError naming the byte where the file stops being UTF-8 (read in pieces, not whole)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise DataError(f"The upload is not UTF-8 text ({exc.reason} at byte {offset + exc.start}); "
                                "send a UTF-8 CSV file or Parquet.") from None
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise DataError(f"The upload is not UTF-8 text ({exc.reason} at byte {offset + exc.start}); "
                            "send a UTF-8 CSV file or Parquet.") from None
