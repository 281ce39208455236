"""The MongoDB source: the documents of one collection, flattened to a table.

``mongodb://host:27017/crm/customers?filter={"active":true}`` (URL-encoded) or a mapping
``{url: mongodb://host:27017, database: crm, collection: customers, filter: {...},
projection: [...]}``. Nested documents become dotted columns (``address.city``) and go
back nested on write; ``_id`` is dropped unless ``keep_id`` is true. ``pymongo`` is
imported only when used.

``fingerprint()`` (what a watcher polls) reads no document in full: the collection's count
(estimated from its metadata when there is no filter) and the largest value of one field —
``_id`` by default (new ObjectIds grow: inserts show), ``fingerprint: updated_at`` to see
documents changed in place, ``fingerprint: full`` to read and hash everything.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import numpy as np
import pandas as pd

from podium._internal.fingerprint import json_fingerprint
from podium._internal.lazy import require
from podium._internal.redact import redact_url
from podium._internal.suggest import did_you_mean
from podium.data.source import Source, WriteMode, register_source
from podium.errors import DataError, SourceError

__all__ = ["MongoSource"]

_PODIUM_PARAMS = ("database", "collection", "filter", "projection", "keep_id", "fingerprint")
_TIMEOUT_MS = 3000


class MongoSource(Source):
    """The documents of a collection that match ``filter``, with ``projection``'s fields."""

    kind = "mongodb"

    def __init__(
        self,
        url: str,
        *,
        database: str | None = None,
        collection: str | None = None,
        filter: Mapping[str, Any] | str | None = None,
        projection: Mapping[str, Any] | list[str] | str | None = None,
        keep_id: bool | str = False,
        fingerprint: str | None = None,
    ) -> None:
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        params = {k: v for k, v in query if k in _PODIUM_PARAMS}
        rest = [(k, v) for k, v in query if k not in _PODIUM_PARAMS]
        path_db, _, path_collection = unquote(parts.path.strip("/")).partition("/")
        self.database = database or params.get("database") or path_db or None
        self.collection = collection or params.get("collection") or path_collection or None
        self.filter: dict[str, Any] = _document("filter", filter or params.get("filter")) or {}
        self.projection = _projection(projection or params.get("projection"))
        self.keep_id = _truthy(keep_id or params.get("keep_id", False))
        #: the field whose largest value marks a change, or "full"
        self.fingerprint_field = str(fingerprint or params.get("fingerprint") or "_id")
        # the database stays in the path: there it is also the default auth database
        path = f"/{self.database}" if self.database else "/"
        self.url = urlunsplit(parts._replace(path=path, query=urlencode(rest)))
        self._server = urlunsplit(parts._replace(path="", query=""))
        if not self.database or not self.collection:
            raise SourceError(
                f"{redact_url(self._server)} names no "
                f"{'database' if not self.database else 'collection'}.",
                hint="use mongodb://host:27017/DATABASE/COLLECTION, "
                "or the database: and collection: options.",
            )

    def describe(self) -> str:
        shown = f"{redact_url(self._server)}/{self.database}/{self.collection}"
        return f"{shown} filter {json.dumps(self.filter, default=str)}" if self.filter else shown

    # reading -----------------------------------------------------------------------

    def read(self) -> pd.DataFrame:
        pymongo = self._pymongo
        client = self._client()
        try:
            collection = client[self.database][self.collection]
            docs = list(collection.find(self.filter, self.projection))
            if not docs:
                self._check_collection(client)
        except pymongo.errors.PyMongoError as exc:
            raise self._failure(exc, "read") from None
        finally:
            client.close()
        if not docs:
            raise DataError(
                f"No documents in {self.describe()}.", hint="check the collection and the filter."
            )
        frame = pd.json_normalize(docs)
        if "_id" in frame.columns:
            if self.keep_id:
                frame["_id"] = frame["_id"].astype(str)
            else:
                frame = frame.drop(columns="_id")
        return frame

    def fingerprint(self) -> str:
        """The count and the largest ``fingerprint_field`` (see the module's docstring)."""
        if self.fingerprint_field == "full":
            return super().fingerprint()
        pymongo = self._pymongo
        field = self.fingerprint_field
        client = self._client()
        try:
            collection = client[self.database][self.collection]
            count = (collection.count_documents(self.filter) if self.filter
                     else collection.estimated_document_count())
            latest = collection.find_one(self.filter, {field: 1},
                                         sort=[(field, pymongo.DESCENDING)]) or {}
        except pymongo.errors.PyMongoError as exc:
            raise self._failure(exc, "fingerprint") from None
        finally:
            client.close()
        value = latest.get(field) if "." not in field else pd.json_normalize(latest).get(field, [None])[0]
        return json_fingerprint({"source": self.describe(), "count": count, field: str(value)})

    def _check_collection(self, client: Any) -> None:
        names = client[self.database].list_collection_names()
        if self.collection not in names:
            where = f"database '{self.database}' of {redact_url(self._server)}"
            suggestion = did_you_mean(self.collection or "", names) if names else "It has none."
            raise SourceError(
                f"Collection '{self.collection}' does not exist in {where}. {suggestion}".rstrip()
            )

    # writing -----------------------------------------------------------------------

    def write(self, frame: pd.DataFrame, *, mode: WriteMode = "replace") -> None:
        """Insert one document a row; ``replace`` first deletes every document (not atomic)."""
        if mode not in ("replace", "append"):
            raise SourceError(f"'{mode}' is not a write mode.", hint="use replace or append.")
        docs = [_nested(row) for row in frame.to_dict(orient="records")]
        pymongo = self._pymongo
        client = self._client()
        try:
            collection = client[self.database][self.collection]
            if mode == "replace":
                collection.delete_many({})
            if docs:
                collection.insert_many(docs)
        except pymongo.errors.PyMongoError as exc:
            raise self._failure(exc, "write to") from None
        finally:
            client.close()

    # helpers -----------------------------------------------------------------------

    @property
    def _pymongo(self) -> Any:
        return require("pymongo", extra="mongo")

    def _client(self) -> Any:
        pymongo = self._pymongo
        given = {k.lower() for k, _ in parse_qsl(urlsplit(self.url).query)}
        options = {
            name: _TIMEOUT_MS
            for name in ("serverSelectionTimeoutMS", "connectTimeoutMS")
            if name.lower() not in given
        }
        try:
            return pymongo.MongoClient(self.url, **options)
        except (pymongo.errors.PyMongoError, ValueError, TypeError) as exc:
            raise SourceError(
                f"Cannot use {redact_url(self._server)}: {_reason(exc)}.",
                hint="write it as mongodb://host:27017/DATABASE/COLLECTION.",
            ) from None

    def _failure(self, exc: BaseException, doing: str) -> SourceError:
        errors = self._pymongo.errors
        if isinstance(exc, errors.ServerSelectionTimeoutError | errors.ConnectionFailure):
            return SourceError(
                f"Cannot connect to {redact_url(self._server)}: {_reason(exc)}.",
                hint="check that the MongoDB server runs, and the host and port.",
            )
        return SourceError(f"Cannot {doing} {self.describe()}: {_reason(exc)}.")


def _reason(exc: BaseException) -> str:
    text = str(exc)
    errno = re.search(r"\[Errno -?\d+\] ([^(,]+)", text)  # socket errors inside pymongo's report
    if errno:
        text = errno.group(1)
    else:
        text = re.split(r", Timeout: |\(configured timeouts", text)[0]
        text = (text.strip().splitlines() or [type(exc).__name__])[0]
    text = text.strip().rstrip(".")
    return text if len(text) <= 200 else text[:197] + "..."


def _document(name: str, value: Mapping[str, Any] | str | None) -> dict[str, Any] | None:
    if value is None or isinstance(value, Mapping):
        return None if value is None else dict(value)
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise SourceError(
            f"The {name} {value!r} is not valid JSON: {exc.msg} at character {exc.pos}.",
            hint='write it as a JSON object, e.g. {"active": true}.',
        ) from None
    if not isinstance(parsed, dict):
        raise SourceError(f"The {name} {value!r} is not a JSON object.")
    return parsed


def _projection(value: Mapping[str, Any] | list[str] | str | None) -> dict[str, Any] | None:
    """A projection from a mapping, a list of fields, ``"a,b"`` or a JSON object."""
    if value is None or isinstance(value, Mapping):
        return None if value is None else dict(value)
    if isinstance(value, str):
        if value.lstrip().startswith("{"):
            return _document("projection", value)
        value = [v.strip() for v in value.split(",") if v.strip()]
    return {str(field): 1 for field in value}


def _truthy(value: bool | str) -> bool:
    return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")


def _bson(value: Any) -> Any:
    """A value BSON can store: numpy scalars as Python ones, timestamps as datetimes."""
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day)
    return value


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # lists and arrays are values, not missing
        return False


def _nested(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A flat row back into a document: ``address.city`` under ``address``; gaps left out."""
    doc: dict[str, Any] = {}
    for column, value in row.items():
        if _missing(value):
            continue
        *parents, leaf = str(column).split(".")
        node = doc
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):  # "a" and "a.b" both given: keep "a.b" flat
                node, leaf = doc, str(column)
                break
        node[leaf] = _bson(value)
    return doc


@register_source("mongodb")
def _make(url: str, options: Mapping[str, Any]) -> Source:
    known = set(_PODIUM_PARAMS)
    for name in options:
        if name not in known:
            raise SourceError(
                f"'{name}' is not an option of a MongoDB source. {did_you_mean(name, known)}".rstrip()
            )
    return MongoSource(url, **dict(options))
