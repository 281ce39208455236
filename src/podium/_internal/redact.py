"""Secrets: ``${NAME}`` references resolved when used, and the one redaction of what is kept.

A spec or ``podium.yaml`` may write a secret as ``${NAME}``; ``expand_env`` replaces the
references with the environment's values at the moment of use, and nothing stores the
result. What podium records or shows (run specs, lineage, events, messages) goes through
``redact``: passwords in URLs become ``***``, as do secret-looking query values, header
values and the values of secret-looking keys; a value written as a ``${NAME}`` reference is
kept as written, since it holds no secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

__all__ = ["MASK", "MissingVariable", "expand_env", "is_reference", "literal_secrets", "masked", "redact",
           "redact_url"]

MASK = "***"

#: keys whose values are secrets (``password``, ``api_key``, ``token``, ``client_secret``...)
_SECRET_KEY = re.compile(r"pass(word|wd)?$|secret|token|api[_-]?key|credential|private[_-]?key|signature",
                         re.IGNORECASE)
#: keys whose values are maps of secrets, by value (HTTP headers carry tokens)
_SECRET_MAPS = frozenset({"headers"})
#: keys whose http(s) URL names data by its path; elsewhere (webhooks) the path may be a token
_DATA_KEYS = frozenset({"source", "path"})
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class MissingVariable(KeyError):
    """A ``${NAME}`` reference whose variable is not set."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def is_reference(text: str) -> bool:
    """Whether ``text`` names its secret by ``${NAME}`` rather than holding it."""
    return bool(_REFERENCE.search(text))


def expand_env(value: Any, environ: Mapping[str, str]) -> Any:
    """``value`` with every ``${NAME}`` in its strings replaced from ``environ`` (``$${`` is a literal ``${``).

    Mappings and lists are walked; other values are returned as they are. A variable that is
    not set raises ``MissingVariable``.
    """
    if isinstance(value, str):
        if "${" not in value:
            return value

        def one(match: re.Match[str]) -> str:
            if match.group(0).startswith("$$"):
                return match.group(0)[1:]
            name = match.group(1)
            if name not in environ:
                raise MissingVariable(name)
            return environ[name]

        return re.sub(r"\$?\$\{([A-Za-z_][A-Za-z0-9_]*)\}", one, value)
    if isinstance(value, Mapping):
        return {k: expand_env(v, environ) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [expand_env(v, environ) for v in value]
    return value


def redact_url(url: str, *, hide_path: bool = False) -> str:
    """The URL with its password and secret-looking query values replaced by ``***``.

    ``hide_path`` keeps only where an http(s) URL goes, ``scheme://host:port/…`` (a webhook's
    path is often its token). Strings that are not URLs are returned as they are; ``${NAME}`` parts are kept.
    """
    try:
        parts = urlsplit(url)
        password, port_number = parts.password, parts.port
    except ValueError:
        return "<invalid URL>"
    if len(parts.scheme) <= 1 or "://" not in url:
        return url
    # by hand, not urlunsplit: that would turn sqlite:///x.db into sqlite:/x.db
    base, mark, query = url.partition("?")
    scheme, _, rest = base.partition("://")
    netloc, slash, path = rest.partition("/")
    if password is not None and not is_reference(password):
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.split(':', 1)[0]}:{MASK}@{host}"
    if hide_path and parts.scheme.lower() in ("http", "https"):
        if is_reference(path + query) and (password is None or is_reference(password)):
            return url
        host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname or ""
        port = f":{port_number}" if port_number else ""
        return f"{parts.scheme}://{host}{port}{'/…' if path.strip('/') or query or parts.fragment else ''}"
    pairs = parse_qsl(query, keep_blank_values=True)
    if any(_SECRET_KEY.search(k) and not is_reference(v) for k, v in pairs):
        query = urlencode([(k, MASK if _SECRET_KEY.search(k) and not is_reference(v) else v) for k, v in pairs],
                          safe="*:/${}")
    return f"{scheme}://{netloc}{slash}{path}{mark}{query}"


def redact(value: Any, *, key: str | None = None) -> Any:
    """A copy of a spec or settings value fit to record and show: no literal secret left in it.

    Walks mappings and lists. The value of a secret-looking key (``password``, ``token``...)
    and every value of a ``headers`` mapping become ``***``; URLs lose their password and
    secret query values; an http(s) URL outside ``source`` also loses its path (a webhook's
    token). Values written as ``${NAME}`` are kept.
    """
    if isinstance(value, Mapping):
        if key is not None and key.lower() in _SECRET_MAPS:
            return {k: _masked(v) for k, v in value.items()}
        return {k: redact(v, key=str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v, key=key) for v in value]
    if key is not None and _SECRET_KEY.search(key):
        return _masked(value)
    if isinstance(value, str) and "://" in value:
        return redact_url(value, hide_path=key is None or key.lower() not in _DATA_KEYS)
    return value


def masked(value: Any, *, where: str = "") -> list[str]:
    """Where a recorded value holds a secret that ``redact`` replaced (``***``): it cannot be used again."""
    if isinstance(value, Mapping):
        return [p for k, v in value.items() for p in masked(v, where=f"{where}.{k}" if where else str(k))]
    if isinstance(value, (list, tuple)):
        return [p for i, v in enumerate(value) for p in masked(v, where=f"{where}[{i}]")]
    if isinstance(value, str) and (value == MASK or f":{MASK}@" in value or f"={MASK}" in value):
        return [where]
    return []


def literal_secrets(value: Any) -> list[str]:
    """Where a spec or setting holds a secret written out rather than as ``${NAME}``."""
    return masked(redact(value))


def _masked(value: Any) -> Any:
    if value is None or (isinstance(value, str) and (not value or is_reference(value))):
        return value
    return MASK
