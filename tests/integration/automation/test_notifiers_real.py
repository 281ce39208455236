"""Notifiers against real servers on 127.0.0.1: an HTTP receiver and an SMTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from podium.automation.events import Event, gate_failed_event
from podium.automation.notifiers import (
    Delivery,
    WebhookNotifier,
    build_notifiers,
    notify_all,
)
from podium.testing.servers import free_port

pytestmark = pytest.mark.integration

ROWS: list[dict[str, Any]] = [
    {"rank": 1, "candidate": "random_forest", "score": 0.8312, "fit_seconds": 1.2,
     "status": "ok", "error": None},
    {"rank": None, "candidate": "mlp", "score": None, "fit_seconds": 3.0,
     "status": "failed", "error": "ValueError: Input contains NaN"},
]


@pytest.fixture
def event() -> Event:
    return gate_failed_event(model="churn", run_id="r42", metric="accuracy", threshold=0.85,
                             best_score=0.8312, rows=ROWS, command="podium run churn.yaml")


# --- a real HTTP receiver ----------------------------------------------------------------


@dataclass
class Receiver:
    url: str
    statuses: list[int] = field(default_factory=list)  # answered in order, then 200
    requests: list[dict[str, Any]] = field(default_factory=list)

    def json(self, i: int = -1) -> Any:
        return json.loads(self.requests[i]["body"])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            state.requests.append({"path": self.path, "headers": self.headers,
                                   "body": body})
            status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/T0/s3cr3t"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_webhook_posts_the_json_document(receiver: Receiver, event: Event) -> None:
    (hook,) = build_notifiers([{"webhook": {"url": receiver.url,
                                            "headers": {"X-Token": "abc"}}}])
    assert notify_all([hook], event) == [Delivery("webhook:127.0.0.1", True)]
    (request,) = receiver.requests
    assert request["path"] == "/hooks/T0/s3cr3t"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["X-Token"] == "abc"
    body = receiver.json()
    assert body["event"] == "gate_failed" and body["title"] == event.title
    assert body["text"] == event.text and body["time"] == event.time.isoformat()
    assert body["payload"]["threshold"] == 0.85
    assert body["payload"]["leaderboard"][1]["error"] == "ValueError: Input contains NaN"


def test_webhook_posts_slack_blocks(receiver: Receiver, event: Event) -> None:
    build_notifiers([{"webhook": {"url": receiver.url, "format": "slack"}}])[0].send(event)
    body = receiver.json()
    assert body["text"] == event.title
    assert [b["type"] for b in body["blocks"]] == ["header", "section", "section", "context"]
    assert "random_forest" in body["blocks"][1]["text"]["text"]


def test_webhook_retries_after_a_server_error(receiver: Receiver, event: Event) -> None:
    receiver.statuses = [500]
    (hook,) = build_notifiers([{"webhook": receiver.url}])
    assert notify_all([hook], event) == [Delivery("webhook:127.0.0.1", True)]
    assert len(receiver.requests) == 2
    assert receiver.requests[0]["body"] == receiver.requests[1]["body"]


def test_webhook_that_keeps_failing_is_a_failed_delivery(
    receiver: Receiver, event: Event, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(WebhookNotifier, "retry_delay", 0.01)
    receiver.statuses = [502, 502, 502]
    (delivery,) = notify_all(build_notifiers([{"webhook": receiver.url}]), event)
    assert not delivery.ok
    port = receiver.url.split(":")[2].split("/")[0]
    assert delivery.error == (f"webhook http://127.0.0.1:{port}/…: HTTP 502 Bad Gateway (ok) "
                              "after 3 attempts.")
    assert len(receiver.requests) == 3


def test_unreachable_webhook_is_a_one_line_failed_delivery(
    event: Event, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(WebhookNotifier, "retry_delay", 0.01)
    port = free_port()  # nothing listens there
    hooks = build_notifiers(["log", {"webhook": f"http://127.0.0.1:{port}/hooks/s3cr3t"}])
    log, hook = notify_all(hooks, event)
    assert log == Delivery("log", True)
    assert not hook.ok and hook.error is not None
    assert hook.error.startswith(f"webhook http://127.0.0.1:{port}/…: ConnectError")
    assert hook.error.endswith("after 3 attempts.")
    assert "\n" not in hook.error and "s3cr3t" not in hook.error


# --- a real SMTP server ------------------------------------------------------------------


class Mailbox:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def message(self, i: int = -1) -> EmailMessage:
        msg = message_from_bytes(self.envelopes[i].content, policy=default_policy)
        assert isinstance(msg, EmailMessage)
        return msg


def _login(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"bot", b"right-pw")
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server() -> Iterator[tuple[str, Mailbox]]:
    controller_mod = pytest.importorskip("aiosmtpd.controller")
    mailbox = Mailbox()
    port = free_port()
    controller = controller_mod.Controller(
        mailbox, hostname="127.0.0.1", port=port,
        authenticator=_login, auth_require_tls=False,
    )
    controller.start()
    try:
        yield f"127.0.0.1:{port}", mailbox
    finally:
        controller.stop()


def test_email_reaches_a_real_smtp_server(smtp_server: tuple[str, Mailbox], event: Event) -> None:
    address, mailbox = smtp_server
    (mail,) = build_notifiers([{"email": {
        "to": ["ops@example.com", "ml@example.com"], "from": "podium@example.com",
        "smtp": address}}])
    assert notify_all([mail], event) == [Delivery("email:ops@example.com,ml@example.com", True)]
    (envelope,) = mailbox.envelopes
    assert envelope.mail_from == "podium@example.com"
    assert envelope.rcpt_tos == ["ops@example.com", "ml@example.com"]
    msg = mailbox.message()
    assert msg["Subject"] == event.title
    assert msg["To"] == "ops@example.com, ml@example.com"
    body = msg.get_content().replace("\r\n", "\n")  # SMTP carries CRLF line ends
    assert "random_forest" in body and "What to do:" in body
    figures = json.loads(body.split("Figures (JSON):\n", 1)[1])
    assert figures["run_id"] == "r42" and figures["threshold"] == 0.85


def test_email_logs_in_with_username_and_password(
    smtp_server: tuple[str, Mailbox], event: Event
) -> None:
    address, mailbox = smtp_server
    good, bad = build_notifiers([
        {"email": {"to": "ops@example.com", "smtp": address, "username": "bot",
                   "password": "right-pw", "allow_insecure_auth": True}},
        {"email": {"to": "ops@example.com", "smtp": address, "username": "bot",
                   "password": "wrong-pw", "name": "bad-login", "allow_insecure_auth": True}},
    ])
    ok, failed = notify_all([good, bad], event)
    assert ok.ok and len(mailbox.envelopes) == 1
    assert not failed.ok and failed.notifier == "bad-login"
    assert failed.error is not None
    assert failed.error.startswith(f"email via {address}: SMTPAuthenticationError: (535")
    assert "wrong-pw" not in failed.error


def test_email_never_sends_a_password_to_a_server_without_tls(
    smtp_server: tuple[str, Mailbox], event: Event
) -> None:
    address, mailbox = smtp_server
    (mail,) = build_notifiers([{"email": {"to": "ops@example.com", "smtp": address, "username": "bot",
                                          "password": "right-pw", "starttls": True}}])
    (delivery,) = notify_all([mail], event)  # this server offers no STARTTLS: podium stops before login
    assert not delivery.ok and delivery.error is not None
    assert delivery.error.startswith(f"email via {address}: SMTPNotSupportedError")
    assert mailbox.envelopes == []


def test_unreachable_smtp_server_is_a_failed_delivery(event: Event) -> None:
    port = free_port()
    (delivery,) = notify_all(build_notifiers([{"email": {
        "to": "ops@example.com", "smtp": f"127.0.0.1:{port}", "timeout": 2}}]), event)
    assert not delivery.ok
    assert delivery.error is not None
    assert delivery.error.startswith(f"email via 127.0.0.1:{port}: ConnectionRefusedError")
