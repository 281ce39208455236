"""The Redis source: one row per key matching a pattern, stored as a hash or a JSON string.

``redis://host:6379/0?pattern=customer:*`` reads every key that matches; the part of
the key after the pattern's fixed prefix goes in the ``key_column`` (default ``key``).
Hash fields arrive as strings, so columns whose every value parses as a number become
numbers, and true/false columns become booleans. Named ``redis_source`` so that it
does not shadow the ``redis`` package; ``redis`` itself is imported only when used.

``fingerprint()`` (what a watcher polls) reads no value: the names of the keys under the
pattern (keys added or removed show), and with ``fingerprint: KEY`` the value of a key the
writer changes with every write (``INCR customers:version``), which shows values changed in
place; ``fingerprint: full`` reads and hashes everything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pandas as pd

from podium._internal.fingerprint import json_fingerprint
from podium._internal.lazy import require
from podium._internal.redact import redact_url
from podium._internal.suggest import did_you_mean
from podium.data.source import Source, WriteMode, register_source
from podium.errors import DataError, SourceError

__all__ = ["RedisSource"]

_PODIUM_PARAMS = ("pattern", "type", "key_column", "fingerprint")
_TYPES = ("hash", "json")
_GLOB = re.compile(r"[*?\[\\]")
_BATCH = 1000


class RedisSource(Source):
    """Keys matching ``pattern``: hashes, or strings holding JSON objects (``type: json``).

    Reading detects each key's type unless ``type`` is given; writing stores hashes
    unless ``type`` is ``json``.
    """

    kind = "redis"

    def __init__(
        self,
        url: str,
        *,
        pattern: str | None = None,
        type: str | None = None,
        key_column: str | None = None,
        fingerprint: str | None = None,
    ) -> None:
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        params = {k: v for k, v in query if k in _PODIUM_PARAMS}
        rest = [(k, v) for k, v in query if k not in _PODIUM_PARAMS]
        self.url = urlunsplit(parts._replace(query=urlencode(rest)))
        self.pattern = pattern or params.get("pattern") or "*"
        self.type = type or params.get("type") or None
        self.key_column = key_column or params.get("key_column") or "key"
        #: a key whose value changes with every write, or "full"
        self.fingerprint_key = fingerprint or params.get("fingerprint") or None
        if self.type is not None and self.type not in _TYPES:
            raise SourceError(
                f"'{self.type}' is not a Redis value type podium reads. "
                f"{did_you_mean(self.type, _TYPES)}".rstrip(),
                hint="use type: hash or type: json.",
            )
        self.prefix = _GLOB.split(self.pattern, 1)[0]

    def describe(self) -> str:
        shown = redact_url(self.url)
        return f"{shown}{'&' if '?' in shown else '?'}pattern={self.pattern}"

    # reading -----------------------------------------------------------------------

    def read(self) -> pd.DataFrame:
        client = self._client()
        try:
            keys = sorted(self._scan(client, self.pattern), key=_natural)
            if not keys:
                raise DataError(
                    f"No keys match '{self.pattern}' in {redact_url(self.url)}.",
                    hint="check the pattern and the database number in the URL.",
                )
            rows, hashed = zip(*self._rows(client, keys))
        except self._redis.RedisError as exc:
            raise self._failure(exc, "read") from None
        finally:
            client.close()
        frame = pd.DataFrame.from_records(list(rows))
        frame = frame[[self.key_column, *(c for c in frame.columns if c != self.key_column)]]
        from_hash = pd.Series(hashed, index=frame.index)
        every = pd.Series(True, index=frame.index)
        for column in frame.columns:  # JSON values keep their types; hash strings are parsed
            mask = every if column == self.key_column else from_hash
            frame[column] = _typed(frame[column], mask)
        return frame

    def fingerprint(self) -> str:
        """The keys' names, and the value of ``fingerprint_key`` (see the module's docstring)."""
        if self.fingerprint_key == "full":
            return super().fingerprint()
        client = self._client()
        try:
            keys = sorted(self._scan(client, self.pattern))
            marker = client.get(self.fingerprint_key) if self.fingerprint_key else None
        except self._redis.RedisError as exc:
            raise self._failure(exc, "fingerprint") from None
        finally:
            client.close()
        return json_fingerprint({"source": self.describe(), "count": len(keys), "keys": keys, "marker": marker})

    def _rows(self, client: Any, keys: list[str]) -> Iterable[tuple[dict[str, Any], bool]]:
        for batch in _batches(keys):
            typed = [(k, t) for k, t in zip(batch, self._types(client, batch)) if t != "none"]
            pipe = client.pipeline(transaction=False)
            for key, kind in typed:  # "none": deleted since the scan
                if kind == "hash":
                    pipe.hgetall(key)
                elif kind == "string":
                    pipe.get(key)
                else:
                    raise SourceError(
                        f"Key '{key}' in {redact_url(self.url)} is a {kind}; podium reads "
                        "hashes and strings holding JSON objects.",
                        hint="narrow the pattern to those keys.",
                    )
            for (key, kind), value in zip(typed, pipe.execute()):
                row = value if kind == "hash" else self._parse_json(key, value)
                yield {**row, self.key_column: key[len(self.prefix):]}, kind == "hash"

    def _types(self, client: Any, keys: list[str]) -> list[str]:
        if self.type is not None:
            return ["hash" if self.type == "hash" else "string"] * len(keys)
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.type(key)
        return [str(t) for t in pipe.execute()]

    def _parse_json(self, key: str, value: str | None) -> dict[str, Any]:
        try:
            row = json.loads(value or "")
        except json.JSONDecodeError:
            raise SourceError(
                f"Key '{key}' in {redact_url(self.url)} holds a string that is not JSON.",
                hint="podium reads hashes, and strings holding JSON objects.",
            ) from None
        if not isinstance(row, dict):
            raise SourceError(
                f"Key '{key}' in {redact_url(self.url)} holds JSON that is not an object.",
                hint='store one object per key, e.g. {"age": 42}.',
            )
        return row

    # writing -----------------------------------------------------------------------

    def write(self, frame: pd.DataFrame, *, mode: WriteMode = "replace") -> None:
        """One key a row, ``prefix + key_column`` (or the row's index when it is missing).

        Each row replaces its key whole; ``replace`` also deletes the pattern's other keys,
        all in one MULTI/EXEC transaction. Writing needs an explicit prefix (``scored:*``): no
        key outside it is ever touched, so a bare ``redis://host/0`` is refused.
        """
        if mode not in ("replace", "append"):
            raise SourceError(f"'{mode}' is not a write mode.", hint="use replace or append.")
        if not self.prefix:
            raise SourceError(
                f"Cannot write to {self.describe()}: writing needs a key prefix, so that no other key "
                "of the database is replaced or deleted.",
                hint="name one in the pattern, e.g. ?pattern=scored:* (the rows become scored:0, scored:1, …).",
            )
        if _GLOB.search(self.pattern[len(self.prefix):].rstrip("*")):
            raise SourceError(
                f"Cannot write with pattern '{self.pattern}': keys are made from its prefix.",
                hint="use a pattern that is a prefix ending in '*', e.g. customer:*.",
            )
        records = json.loads(frame.to_json(orient="records", date_format="iso") or "[]")
        has_key = self.key_column in frame.columns
        client = self._client()
        try:
            old = set(self._scan(client, self.pattern)) if mode == "replace" else set()
            pipe = client.pipeline(transaction=True)
            for index, record in zip(frame.index, records):
                key_value = record.pop(self.key_column, None) if has_key else None
                key = f"{self.prefix}{index if key_value is None else key_value}"
                old.discard(key)
                pipe.delete(key)
                if self.type == "json":
                    pipe.set(key, json.dumps(record))
                else:
                    fields = {k: _field(v) for k, v in record.items() if v is not None}
                    if fields:
                        pipe.hset(key, mapping=fields)
            if old:
                pipe.delete(*old)
            pipe.execute()
        except self._redis.RedisError as exc:
            raise self._failure(exc, "write to") from None
        finally:
            client.close()

    # helpers -----------------------------------------------------------------------

    @property
    def _redis(self) -> Any:
        return require("redis", extra="redis")

    def _client(self) -> Any:
        redis = self._redis
        query = dict(parse_qsl(urlsplit(self.url).query))
        options: dict[str, Any] = {"decode_responses": True}
        for name, seconds in (("socket_connect_timeout", 3), ("socket_timeout", 30)):
            if name not in query:
                options[name] = seconds
        try:
            return redis.Redis.from_url(self.url, **options)
        except (ValueError, TypeError) as exc:
            raise SourceError(
                f"Cannot use {redact_url(self.url)}: {_reason(exc)}.",
                hint="write it as redis://host:6379/0?pattern=prefix:*.",
            ) from None

    def _scan(self, client: Any, pattern: str) -> list[str]:
        return [str(k) for k in client.scan_iter(match=pattern, count=_BATCH)]

    def _failure(self, exc: BaseException, doing: str) -> SourceError:
        if isinstance(exc, self._redis.ConnectionError | self._redis.TimeoutError):
            return SourceError(
                f"Cannot connect to {redact_url(self.url)}: {_reason(exc)}.",
                hint="check that redis-server runs, and the host and port.",
            )
        return SourceError(f"Cannot {doing} {self.describe()}: {_reason(exc)}.")


def _reason(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    match = re.search(r"connecting to \S+\.\s+(.+)", text)  # "Error 111 connecting to h:p. Why."
    if match:
        text = match.group(1)
    text = text.rstrip(".")
    return text if len(text) <= 200 else text[:197] + "..."


def _field(value: Any) -> str:
    """A hash field value: strings as they are, anything else as JSON (1.5, true, [..])."""
    return value if isinstance(value, str) else json.dumps(value)


def _typed(column: pd.Series, mask: pd.Series) -> pd.Series:
    """Numbers or booleans from the strings under ``mask``, when every one of them parses."""
    strings = column[mask].dropna()
    if strings.empty or not all(isinstance(v, str) for v in strings):
        return column
    if {v.lower() for v in strings} <= {"true", "false"}:
        parsed = strings.str.lower() == "true"
    else:
        parsed = pd.to_numeric(strings, errors="coerce")
        if parsed.isna().any():
            return column
    values = column.astype(object)
    values[parsed.index] = parsed.astype(object)
    result = pd.Series(values.tolist(), index=column.index, name=column.name)
    present = result.dropna()
    if result.dtype == object and len(present) and all(isinstance(v, bool) for v in present):
        return result.astype("boolean")  # booleans with gaps
    return result


def _batches(keys: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(keys), _BATCH):
        yield keys[start : start + _BATCH]


def _natural(key: str) -> list[Any]:
    """customer:2 before customer:10."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", key)]


@register_source("redis", "rediss")
def _make(url: str, options: Mapping[str, Any]) -> Source:
    known = set(_PODIUM_PARAMS)
    for name in options:
        if name not in known:
            raise SourceError(
                f"'{name}' is not an option of a Redis source. {did_you_mean(name, known)}".rstrip()
            )
    return RedisSource(url, **dict(options))
