"""API-key checks for the service: ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``.

Keys live hashed in the registry (``podium keys``); a deployment may add keys from a file
(a mounted secret: one key a line, plain or ``sha256:HEX``) that open every served model. An answer is remembered for a couple of
seconds so that the database is not asked on every request; a revoked key stops working
within that time.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

__all__ = ["KeyChecker", "Verdict", "key_from_headers", "SECURITY_SCHEMES", "hash_key",
           "read_key_file", "with_static_keys"]

Verdict = Literal["ok", "missing", "unknown", "revoked", "forbidden"]

SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": {"type": "http", "scheme": "bearer",
               "description": "an API key from `podium keys create`"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key",
               "description": "the same API key, in the X-API-Key header"},
}

_MESSAGES: dict[str, tuple[int, str]] = {
    "missing": (401, "No API key. Send 'Authorization: Bearer KEY' or 'X-API-Key: KEY' "
                     "(create one with: podium keys create --name NAME)."),
    "unknown": (401, "The API key is not valid."),
    "revoked": (401, "The API key has been revoked."),
    "forbidden": (403, "The API key has no access to model '{model}'."),
}


def key_from_headers(headers: Mapping[str, str]) -> str | None:
    """The key a request carries, or None."""
    value = headers.get("authorization")
    if value:
        scheme, _, token = value.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    value = headers.get("x-api-key")
    return value.strip() if value and value.strip() else None


class KeyChecker:
    """Asks ``check(plaintext, model)`` (the registry's) and remembers answers for ``ttl`` s."""

    def __init__(self, check: Callable[[str, str], str], *, ttl: float = 2.0,
                 clock: Callable[[], float] = time.monotonic, max_entries: int = 10_000) -> None:
        self._check = check
        self.ttl = ttl
        self._clock = clock
        self._max_entries = max_entries
        self._cache: dict[tuple[bytes, str], tuple[float, Verdict]] = {}
        self._lock = threading.Lock()

    def cached(self, key: str | None, model: str) -> Verdict | None:
        """The remembered verdict, or None when the registry must be asked."""
        if key is None:
            return "missing"
        entry = self._cache.get((_digest(key), model))
        if entry is not None and entry[0] > self._clock():
            return entry[1]
        return None

    def verify(self, key: str | None, model: str) -> Verdict:
        """The verdict for ``key`` on ``model``, from the cache or the registry."""
        verdict = self.cached(key, model)
        if verdict is not None:
            return verdict
        assert key is not None
        answer = self._check(key, model)
        fresh: Verdict = answer if answer in ("ok", "revoked", "forbidden") else "unknown"  # type: ignore[assignment]
        with self._lock:
            if len(self._cache) >= self._max_entries:
                self._cache.clear()
            self._cache[(_digest(key), model)] = (self._clock() + self.ttl, fresh)
        return fresh

    @staticmethod
    def refusal(verdict: Verdict, model: str) -> tuple[int, str]:
        """The status code and message for a verdict other than ok."""
        status, message = _MESSAGES[verdict]
        return status, message.format(model=model)


def _digest(key: str) -> bytes:
    return hashlib.blake2b(key.encode(), digest_size=16).digest()


def hash_key(plaintext: str) -> str:
    """How a key file stores a key: ``sha256:HEX``."""
    return "sha256:" + hashlib.sha256(plaintext.encode()).hexdigest()


def read_key_file(path: str | Path) -> frozenset[str]:
    """The ``sha256:HEX`` digests of the keys in a key file (blank lines and # comments skipped)."""
    digests = set()
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        digests.add(line.lower() if line.lower().startswith("sha256:") else hash_key(line))
    return frozenset(digests)


def with_static_keys(digests: frozenset[str], check: Callable[[str, str], str]) -> Callable[[str, str], str]:
    """A check that accepts the keys of a key file, then asks ``check``."""
    def combined(plaintext: str, model: str) -> str:
        return "ok" if hash_key(plaintext) in digests else check(plaintext, model)

    return combined
