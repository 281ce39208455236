"""Who may use the console: an admin API key, as a Bearer header or a signed session cookie.

Keys are the registry's (``podium keys create --name me --admin``), checked as the model
service checks them (``KeyChecker``). Signing in (``POST /api/session``) sets an HttpOnly,
SameSite=Strict cookie holding the key's id, an expiry and a nonce, signed with a secret
kept in ``.podium/console-secret``; the sign-in also returns a CSRF token (an HMAC of the
nonce) that state-changing requests made with the cookie must send in ``X-CSRF-Token``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["COOKIE", "CSRF_HEADER", "Session", "SessionSigner", "load_secret"]

COOKIE = "podium_session"
CSRF_HEADER = "x-csrf-token"
#: how long a sign-in lasts
SESSION_SECONDS = 12 * 3600


def load_secret(state_dir: Path) -> bytes:
    """The console's signing secret: made once (mode 0600) in the project's state folder."""
    path = state_dir / "console-secret"
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        state_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_bytes(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(value.hex())
        return value


@dataclass(frozen=True)
class Session:
    """A signed-in key (by id), until ``expires``; ``nonce`` ties the CSRF token to it."""

    key_id: str
    expires: float
    nonce: str


class SessionSigner:
    """Makes and checks session cookies and CSRF tokens with one secret."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, what: bytes) -> str:
        return base64.urlsafe_b64encode(hmac.new(self._secret, what, hashlib.sha256).digest()).decode().rstrip("=")

    def issue(self, key_id: str, *, now: float | None = None) -> tuple[str, str]:
        """(cookie value, CSRF token) for a key that just signed in."""
        session = Session(key_id, (now or time.time()) + SESSION_SECONDS, secrets.token_urlsafe(16))
        body = base64.urlsafe_b64encode(json.dumps(
            {"k": session.key_id, "e": session.expires, "n": session.nonce}).encode()).decode().rstrip("=")
        return f"{body}.{self._mac(body.encode())}", self.csrf(session)

    def read(self, cookie: str, *, now: float | None = None) -> Session | None:
        """The session a cookie holds, or None when it is forged, malformed or expired."""
        body, _, mac = cookie.partition(".")
        if not body or not hmac.compare_digest(mac, self._mac(body.encode())):
            return None
        try:
            fields = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            session = Session(str(fields["k"]), float(fields["e"]), str(fields["n"]))
        except (ValueError, KeyError, TypeError):
            return None
        return session if session.expires > (now or time.time()) else None

    def csrf(self, session: Session) -> str:
        return self._mac(b"csrf:" + session.nonce.encode())

    def csrf_ok(self, session: Session, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token, self.csrf(session))
