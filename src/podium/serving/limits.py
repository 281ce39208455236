"""Request bodies capped while they are read: ``BodyLimit``, a small ASGI middleware.

A body that declares a ``Content-Length`` over the limit is refused before any of it is read.
One that does not (chunked transfer) is counted as it arrives: the message that takes it over
the limit raises ``BodyTooLarge`` in whatever is reading it, so at most the limit plus one
chunk is ever read. The refusal is a 413 that closes the connection, so the server reads no
more of the body either.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodyLimit", "BodyTooLarge", "too_large_message"]


class BodyTooLarge(Exception):
    """The request body is larger than ``limit`` bytes."""

    def __init__(self, limit: int, what: str) -> None:
        super().__init__(too_large_message(limit, what))
        self.limit = limit
        self.what = what


def too_large_message(limit: int, what: str) -> str:
    """One sentence: the limit, and what to do."""
    size = f"{limit / 2**20:g} MiB" if limit >= 2**20 else f"{limit} bytes"
    hint = ("upload it with podium datasets upload instead" if what == "upload"
            else "send fewer records per request")
    return f"The request body is larger than the limit of {size} for this endpoint; {hint}."


class BodyLimit:
    """Caps every HTTP request body at ``limit_for(scope)`` bytes (None: no cap), as it is read."""

    def __init__(self, app: ASGIApp, *, limit_for: Callable[[Scope], tuple[int, str] | None]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        found = self.limit_for(scope)
        if found is None:
            await self.app(scope, receive, send)
            return
        limit, what = found
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, send, BodyTooLarge(limit, what))
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit, what)
            return message

        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLarge as exc:  # raised past the app's own handlers (a plain ASGI app)
            if started:
                raise
            await _refuse(scope, send, exc)


def _content_length(scope: Scope) -> int | None:
    for key, value in scope["headers"]:
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(scope: Scope, send: Send, exc: BodyTooLarge) -> None:
    body = orjson.dumps({"detail": str(exc), "request_id": scope.get("podium_request_id")})
    await send({"type": "http.response.start", "status": 413, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
