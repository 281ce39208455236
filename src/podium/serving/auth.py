"""API keys and their rights, for the service: ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``.

A key has rights (``podium keys create``): predict with the models it names (or all),
upload versions of the datasets it names, administer. Keys live hashed in the registry; a
deployment may add keys from a file (a mounted secret, re-read when it changes — see
``KeyFile``). What a key may do is looked up once and remembered for ``ttl`` seconds in a
bounded LRU cache, so the database is not asked on every request and a revocation or a change
of rights applies within that time. When the registry cannot be reached, what was known of a
key is still honoured for ``grace`` seconds after it was last confirmed (and the outage is
reported), then the key is refused with a 503.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Generic, TypeVar

from podium.errors import SpecError
from podium.registry.records import ApiKeyInfo, KeyRight

__all__ = ["KeyChecker", "KeyFile", "KeyLookup", "KeyStoreUnavailable", "LRUCache", "key_from_headers",
           "SECURITY_SCHEMES", "hash_key"]

logger = logging.getLogger("podium.serving")

K = TypeVar("K")
V = TypeVar("V")

SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": {"type": "http", "scheme": "bearer",
               "description": "an API key from `podium keys create`"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key",
               "description": "the same API key, in the X-API-Key header"},
}

MISSING = (401, "No API key. Send 'Authorization: Bearer KEY' or 'X-API-Key: KEY' "
                "(create one with: podium keys create --name NAME).")
UNKNOWN = (401, "The API key is not valid.")
REVOKED = (401, "The API key has been revoked.")


def key_from_headers(headers: Mapping[str, str]) -> str | None:
    """The key a request carries, or None."""
    value = headers.get("authorization")
    if value:
        scheme, _, token = value.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    value = headers.get("x-api-key")
    return value.strip() if value and value.strip() else None


def hash_key(plaintext: str) -> str:
    """How a key file stores a key: ``sha256:HEX``."""
    return "sha256:" + hashlib.sha256(plaintext.strip().encode()).hexdigest()


class LRUCache(Generic[K, V]):
    """A dict that keeps at most ``max_entries``, dropping the least recently used; thread-safe."""

    def __init__(self, max_entries: int) -> None:
        if max_entries < 1:
            raise ValueError("an LRU cache holds at least one entry")
        self.max_entries = max_entries
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)


class KeyStoreUnavailable(Exception):
    """The registry could not be asked about a key, and nothing recent enough is known of it."""


@dataclass(frozen=True)
class KeyLookup:
    """What is known of a key: its record (None: no such key), and whether that is from before an outage."""

    key: ApiKeyInfo | None
    stale: bool = False

    def refusal(self, right: KeyRight, target: str = "") -> tuple[int, str] | None:
        """None when the key may do this, else (status, message naming what is missing)."""
        if self.key is None:
            return UNKNOWN
        if not self.key.active:
            return REVOKED
        message = self.key.refusal(right, target)
        return None if message is None else (403, message)


@dataclass(frozen=True)
class _Entry:
    key: ApiKeyInfo | None
    confirmed: float  # when the source last said so (clock seconds)


class KeyChecker:
    """Looks keys up with ``lookup(plaintext)`` (the registry's, and a key file's) and remembers them.

    An answer is fresh for ``ttl`` seconds; when the lookup fails, an answer confirmed less
    than ``grace`` seconds ago is used (marked stale) and ``on_failure`` is told; otherwise
    ``KeyStoreUnavailable``. At most ``max_entries`` keys are remembered (least recently used
    dropped first). Lookups run on a small thread pool of their own, so that slow work
    elsewhere (an upload being parsed) never queues a key check behind it.
    """

    def __init__(self, lookup: Callable[[str], ApiKeyInfo | None], *, ttl: float = 2.0, grace: float = 300.0,
                 clock: Callable[[], float] = time.monotonic, max_entries: int = 10_000,
                 on_success: Callable[[], None] | None = None,
                 on_failure: Callable[[BaseException], None] | None = None) -> None:
        self._lookup = lookup
        self.ttl = ttl
        self.grace = grace
        self._clock = clock
        self._cache: LRUCache[bytes, _Entry] = LRUCache(max_entries)
        self._on_success = on_success
        self._on_failure = on_failure
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()

    def cached(self, plaintext: str) -> KeyLookup | None:
        """The fresh answer for a key, or None when the source must be asked."""
        entry = self._cache.get(_digest(plaintext))
        if entry is not None and self._clock() - entry.confirmed < self.ttl:
            return KeyLookup(entry.key)
        return None

    def lookup(self, plaintext: str) -> KeyLookup:
        """What is known of a key: from the cache, the source, or (during an outage) the last answer."""
        fresh = self.cached(plaintext)
        if fresh is not None:
            return fresh
        digest = _digest(plaintext)
        try:
            key = self._lookup(plaintext)
        except Exception as exc:  # noqa: BLE001  any failure of the key store is an outage here
            if self._on_failure is not None:
                self._on_failure(exc)
            entry = self._cache.get(digest)
            if entry is not None and self._clock() - entry.confirmed < max(self.grace, self.ttl):
                return KeyLookup(entry.key, stale=True)
            raise KeyStoreUnavailable(f"the key store cannot be reached: {exc}") from exc
        if self._on_success is not None:
            self._on_success()
        self._cache.put(digest, _Entry(key, self._clock()))
        return KeyLookup(key)

    async def lookup_async(self, plaintext: str) -> KeyLookup:
        """``lookup`` without blocking the event loop (on this checker's own threads)."""
        fresh = self.cached(plaintext)
        if fresh is not None:
            return fresh
        return await asyncio.get_running_loop().run_in_executor(self._pool(), self.lookup, plaintext)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    def _pool(self) -> ThreadPoolExecutor:
        with self._executor_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(4, thread_name_prefix="podium-keys")
            return self._executor


def _digest(key: str) -> bytes:
    return hashlib.blake2b(key.encode(), digest_size=16).digest()


class KeyFile:
    """Keys from a file (a mounted secret), with rights; re-read when the file changes.

    One key a line: the key itself or ``sha256:HEX``, then optional rights::

        # a bare key may predict with every model, and nothing else
        sha256:9f86d0…
        sha256:2c26b4…  name=loader  models=churn,fraud  uploads=sales  admin

    ``models=`` and ``uploads=`` take comma-separated names ("*": all); ``admin`` gives the
    admin right. The file is checked for changes (modification time, size, inode) at most
    every ``recheck`` seconds; a file that became unreadable or invalid keeps the last good
    keys and is reported in the log.
    """

    def __init__(self, path: str | Path, *, recheck: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.path = Path(path)
        self.recheck = recheck
        self._clock = clock
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._checked = -float("inf")
        self._keys: dict[str, ApiKeyInfo] = {}
        self._reload(strict=True)

    def lookup(self, plaintext: str) -> ApiKeyInfo | None:
        """The key's record when the file holds it, else None."""
        if self._clock() - self._checked >= self.recheck:
            self._reload(strict=False)
        return self._keys.get(hash_key(plaintext))

    def __len__(self) -> int:
        return len(self._keys)

    def _reload(self, *, strict: bool) -> None:
        with self._lock:
            self._checked = self._clock()
            try:
                stat = os.stat(self.path)
                stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
                if stamp == self._stamp:
                    return
                keys = parse_key_file(self.path.read_text(), source=str(self.path),
                                      created=datetime.fromtimestamp(stat.st_mtime, timezone.utc))
            except (OSError, SpecError) as exc:
                if strict:
                    if isinstance(exc, SpecError):
                        raise
                    raise SpecError(f"the keys file {self.path} cannot be read: {exc.strerror or exc}.",
                                    hint="check the --keys-file path and its permissions") from None
                logger.error("keys file %s: %s; keeping the %d keys read before", self.path, exc, len(self._keys))
                return
            self._keys, self._stamp = keys, stamp
            if not strict:
                logger.info("keys file %s re-read: %d keys", self.path, len(keys))


def parse_key_file(text: str, *, source: str = "keys file",
                   created: datetime | None = None) -> dict[str, ApiKeyInfo]:
    """The keys of a keys file by ``sha256:HEX``; a malformed line is a ``SpecError`` naming it."""
    created = created or datetime.now(timezone.utc)
    keys: dict[str, ApiKeyInfo] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        secret, *rights = line.split()
        digest = secret.lower() if secret.lower().startswith("sha256:") else hash_key(secret)
        name, models, uploads, admin = f"keys-file:{number}", ["*"], [], False
        for token in rights:
            field, eq, value = token.partition("=")
            names = [v.strip() for v in value.split(",") if v.strip()]
            if token == "admin":
                admin = True
            elif eq and field == "name" and value:
                name = value
            elif eq and field in ("models", "model"):
                models = names
            elif eq and field in ("uploads", "upload"):
                uploads = names
            else:
                raise SpecError(f"{source}, line {number}: '{token}' is not understood.",
                                hint="after the key: name=NAME, models=a,b, uploads=a,b, admin")
        keys[digest] = ApiKeyInfo(id=f"file:{digest[7:19]}", name=name, prefix="", models=models,
                                  created_at=created, revoked_at=None, uploads=uploads, admin=admin)
    return keys
