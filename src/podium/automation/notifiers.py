"""Notifiers: who is told about an event, and how (log, webhook, e-mail).

A notifier kind is a ``Notifier`` subclass with a pydantic ``params_model``, registered
by name in ``notifier_kinds`` (plugins: entry-point group ``podium.notifiers``). The
``notify:`` list of ``podium.yaml`` or of a spec becomes notifiers through
``build_notifiers``; ``notify_all`` sends one event to each and never lets one failure
stop the others. Secrets (passwords, header values, webhook paths and queries) may be
written as ``${NAME}`` and are read from the environment when the notifiers are built; they
stay out of every log line and error message, and an SMTP password is only sent over TLS
unless ``allow_insecure_auth`` says otherwise.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any, ClassVar, Generic, Literal, TypeVar
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic import model_validator

from podium._internal.named import Named
from podium._internal.redact import redact_url as _redact_url
from podium._internal.suggest import did_you_mean
from podium.automation.events import ALERT_KINDS, Event, format_leaderboard_text
from podium.config import resolve_secrets
from podium.errors import NotFoundError, PodiumError, SpecError

__all__ = [
    "Notifier",
    "NotifierParams",
    "NotifyError",
    "Delivery",
    "format_leaderboard_text",  # re-exported: messages are built beside the notifiers
    "LogNotifier",
    "LogParams",
    "WebhookNotifier",
    "WebhookParams",
    "EmailNotifier",
    "EmailParams",
    "notifier_kinds",
    "build_notifiers",
    "notify_all",
    "redact_url",
    "slack_payload",
    "teams_payload",
]

logger = logging.getLogger("podium.notify")


class NotifyError(PodiumError):
    """A notifier could not deliver an event (unreachable server, refused message...)."""


class NotifierParams(BaseModel):
    """Parameters every notifier accepts; each kind extends this model."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str | None = Field(
        None, description="the name deliveries and logs show; default 'kind:target'"
    )


P = TypeVar("P", bound=NotifierParams)


class Notifier(ABC, Generic[P]):
    """Tells someone about an event. ``send`` returns quietly or raises ``NotifyError``.

    Build one from its params model, from keyword values (``WebhookNotifier(url=...)``)
    or from a ``notify:`` item (``from_config``); all three validate the same way.
    """

    kind: ClassVar[str]
    params_model: ClassVar[type[NotifierParams]]
    #: the parameter a bare value fills: ``{webhook: URL}`` is ``{webhook: {url: URL}}``
    shorthand: ClassVar[str | None] = None

    def __init__(self, params: P | None = None, /, **values: Any) -> None:
        if params is not None and values:
            raise TypeError("pass a params model or keyword values, not both")
        self.params: P = params if params is not None else self.parse_params(values, where=self.kind)

    @classmethod
    def parse_params(cls, value: Any, *, where: str) -> P:
        """Validate a config value; a ``SpecError`` names ``where.param`` and the problem."""
        if value is None:
            value = {}
        elif cls.shorthand and isinstance(value, (str, list)):
            value = {cls.shorthand: value}
        elif not isinstance(value, Mapping):
            also = f" or a value for '{cls.shorthand}'" if cls.shorthand else ""
            raise SpecError(
                f"{where}: expected a mapping of parameters{also}, got {type(value).__name__}."
            )
        try:
            return cls.params_model.model_validate(dict(value))  # type: ignore[return-value]
        except ValidationError as exc:
            raise _params_error(exc, where, cls.params_model) from None

    @classmethod
    def from_config(cls, value: Any, *, where: str = "notify") -> Notifier[P]:
        """A notifier from the value of a ``notify:`` item (``{kind: value}``)."""
        return cls(cls.parse_params(value, where=where))

    @property
    def name(self) -> str:
        return self.params.name or self.default_name()

    def default_name(self) -> str:
        return self.kind

    @abstractmethod
    def send(self, event: Event) -> None:
        """Deliver ``event``; raise ``NotifyError`` (no secrets in it) when it cannot."""

    def __repr__(self) -> str:  # never the params: they may hold secrets
        return f"<{type(self).__name__} {self.name}>"


def _params_error(exc: ValidationError, where: str, model: type[BaseModel]) -> SpecError:
    """One line per problem, without echoing the input (it may be a secret)."""
    accepted = [f.alias or name for name, f in model.model_fields.items()]
    problems = []
    for err in exc.errors(include_url=False, include_input=False):
        path = where + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
        if err["type"] == "extra_forbidden":
            msg = f"unknown parameter. {did_you_mean(str(err['loc'][-1]), accepted)}".rstrip()
        elif err["type"] == "missing":
            msg = "required parameter is missing"
        else:
            msg = err["msg"].removeprefix("Value error, ")
        problems.append(f"{path}: {msg.rstrip('.')}")
    message = "; ".join(problems)
    return SpecError(message if message.endswith("?") else message + ".")


@dataclass(frozen=True)
class Delivery:
    """How sending one event through one notifier went."""

    notifier: str
    ok: bool
    error: str | None = None


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def notify_all(notifiers: Iterable[Notifier[Any]], event: Event) -> list[Delivery]:
    """Send ``event`` through every notifier; failures are logged and returned, never raised."""
    deliveries = []
    for notifier in notifiers:
        try:
            notifier.send(event)
        except Exception as exc:  # one broken channel must not silence the others
            error = str(exc) if isinstance(exc, PodiumError) else f"{type(exc).__name__}: {exc}"
            error = _one_line(error)
            logger.warning("notifier %s could not send the %s event: %s",
                           notifier.name, event.kind, error)
            if not isinstance(exc, PodiumError):  # a bug in the notifier: keep the traceback
                logger.debug("notifier %s raised", notifier.name, exc_info=True)
            deliveries.append(Delivery(notifier.name, False, error))
        else:
            deliveries.append(Delivery(notifier.name, True))
    return deliveries


notifier_kinds: Named[type[Notifier[Any]]] = Named(
    "notifier", "podium.notifiers", error=NotFoundError
)


def build_notifiers(config: Iterable[Any] | None, *, where: str = "notify") -> list[Notifier[Any]]:
    """Notifiers from a ``notify:`` list: ``log``, ``{webhook: URL}``, ``{email: {...}}``..."""
    if config is None:
        return []
    if isinstance(config, (str, Mapping)):
        raise SpecError(f"{where}: expected a list of notifiers, e.g. [log, {{webhook: URL}}].")
    notifiers: list[Notifier[Any]] = []
    for i, item in enumerate(config):
        at = f"{where}[{i}]"
        if isinstance(item, str):
            kind, value = item, None
        elif isinstance(item, Mapping) and len(item) == 1:
            ((kind, value),) = item.items()
        elif isinstance(item, Mapping):
            keys = ", ".join(f"'{k}'" for k in item) or "none"
            raise SpecError(
                f"{at}: one notifier per item, got keys {keys}.",
                hint="write each notifier as its own list item: [log, {webhook: URL}]",
            )
        else:
            raise SpecError(
                f"{at}: expected a notifier name or a mapping like {{webhook: URL}}, "
                f"got {type(item).__name__}."
            )
        try:
            cls = notifier_kinds.get(str(kind))
        except NotFoundError as exc:
            raise NotFoundError(f"{at}: {exc}") from None
        value = resolve_secrets(value, where=f"{at}.{kind}")  # ${NAME} → the secret, for use only
        notifiers.append(cls.from_config(value, where=f"{at}.{kind}"))
    return notifiers


# --- log ---------------------------------------------------------------------------------


class LogParams(NotifierParams):
    logger: str = Field("podium.notify", description="the Python logger to write to")


class LogNotifier(Notifier[LogParams]):
    """Writes the event to Python logging: a warning when a person must act, else info."""

    kind = "log"
    params_model = LogParams

    def send(self, event: Event) -> None:
        level = logging.WARNING if event.kind in ALERT_KINDS else logging.INFO
        body = "\n".join("  " + line for line in event.text.splitlines())
        logging.getLogger(self.params.logger).log(
            level, "%s%s", event.title, f"\n{body}" if body else "",
            extra={"podium_event": event.to_dict()},
        )


# --- webhook -----------------------------------------------------------------------------


def redact_url(url: str) -> str:
    """``scheme://host:port/…``: the path, query and credentials of a URL often hold tokens."""
    return _redact_url(url, hide_path=True)


class WebhookParams(NotifierParams):
    url: str = Field(description="http(s) URL the event is POSTed to", repr=False)
    format: Literal["json", "slack", "teams"] = Field(
        "json", description="json (podium's document), slack (blocks) or teams (adaptive card)"
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="extra HTTP headers, e.g. Authorization", repr=False
    )
    timeout: float = Field(10.0, gt=0, description="seconds per attempt")
    retries: int = Field(2, ge=0, le=10, description="retries on 5xx, 429 or connection errors")

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                "expected an http:// or https:// URL like https://hooks.example.com/…"
            )
        return url.strip()


_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


class WebhookNotifier(Notifier[WebhookParams]):
    """POSTs the event as JSON (podium's document, Slack blocks or a Teams card)."""

    kind = "webhook"
    params_model = WebhookParams
    shorthand = "url"
    #: seconds before the first retry, doubled for each next one
    retry_delay: ClassVar[float] = 0.5

    def __init__(
        self,
        params: WebhookParams | None = None,
        /,
        *,
        transport: httpx.BaseTransport | None = None,
        **values: Any,
    ) -> None:
        super().__init__(params, **values)
        self._transport = transport

    def default_name(self) -> str:
        return f"webhook:{urlsplit(self.params.url).hostname}"

    def payload(self, event: Event) -> dict[str, Any]:
        """The JSON body for this notifier's format."""
        if self.params.format == "slack":
            return slack_payload(event)
        if self.params.format == "teams":
            return teams_payload(event)
        return event.to_dict()

    def send(self, event: Event) -> None:
        p = self.params
        content = json.dumps(self.payload(event), ensure_ascii=False).encode()
        headers = {"content-type": "application/json", "user-agent": "podium", **p.headers}
        where = redact_url(p.url)
        problem = ""
        with httpx.Client(timeout=p.timeout, transport=self._transport) as client:
            for attempt in range(p.retries + 1):
                if attempt:
                    time.sleep(self.retry_delay * 2 ** (attempt - 1))
                try:
                    response = client.post(p.url, content=content, headers=headers)
                except httpx.TransportError as exc:
                    problem = _scrub(f"{type(exc).__name__}: {exc}".rstrip(": "), p.url)
                    continue
                if response.is_success:
                    return
                problem = _scrub(_status_line(response), p.url)
                if response.status_code not in _RETRY_STATUS:
                    raise NotifyError(f"webhook {where}: {problem}.")
        tries = f"after {p.retries + 1} attempts" if p.retries else "(no retries)"
        raise NotifyError(f"webhook {where}: {problem} {tries}.")


def _status_line(response: httpx.Response) -> str:
    line = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
    body = _one_line(response.text, 120) if response.text else ""
    return f"{line} ({body})" if body else line


def _scrub(text: str, url: str) -> str:
    text = text.replace(url, redact_url(url))
    path = urlsplit(url).path
    return text.replace(path, "/…") if len(path) > 1 else text


def _facts(payload: Mapping[str, Any], limit: int = 10) -> list[tuple[str, str]]:
    """The payload's scalar figures as (name, text) pairs, for chat cards."""
    facts = []
    for key, value in payload.items():
        if value is None or isinstance(value, (dict, list, tuple, set)):
            continue
        text = f"{value:.4g}" if isinstance(value, float) else str(value)
        facts.append((str(key), _one_line(text, 200)))
    return facts[:limit]


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(event: Event) -> dict[str, Any]:
    """A Slack incoming-webhook message: ``text`` for notifications, ``blocks`` to read."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": event.title[:150]}},
    ]
    if event.text:
        # A code block keeps the leaderboard's columns aligned; Slack caps a section at 3000.
        body = _slack_escape(event.text)
        if len(body) > 2990:
            body = body[:2980] + "\n…"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"```{body}```"}})
    if facts := _facts(event.payload):
        blocks.append({"type": "section", "fields": [
            {"type": "mrkdwn", "text": f"*{_slack_escape(k)}*\n{_slack_escape(v)}"} for k, v in facts
        ]})
    blocks.append({"type": "context", "elements": [
        {"type": "mrkdwn", "text": f"podium · {event.kind} · {event.time.isoformat(timespec='seconds')}"}
    ]})
    return {"text": event.title, "blocks": blocks}


def teams_payload(event: Event) -> dict[str, Any]:
    """A Microsoft Teams message (Workflows webhook) holding an Adaptive Card."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": event.title, "size": "Large", "weight": "Bolder",
         "wrap": True},
    ]
    if event.text:
        body.append({"type": "TextBlock", "text": event.text, "fontType": "Monospace",
                     "wrap": True})
    if facts := _facts(event.payload):
        body.append({"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in facts]})
    body.append({"type": "TextBlock", "isSubtle": True, "size": "Small", "wrap": True,
                 "text": f"podium · {event.kind} · {event.time.isoformat(timespec='seconds')}"})
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "msteams": {"width": "Full"},
    }
    return {
        "type": "message",
        "summary": event.title,
        "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
                         "contentUrl": None, "content": card}],
    }


# --- email -------------------------------------------------------------------------------


class EmailParams(NotifierParams):
    to: list[str] = Field(description="recipient address, or a list of them")
    from_: str = Field("podium@localhost", alias="from", description="sender address")
    smtp: str = Field("localhost:25", description="SMTP server as host:port")
    starttls: bool = Field(False, description="upgrade the connection with STARTTLS (port 587)")
    ssl: bool = Field(False, description="TLS from the first byte, SMTPS (port 465)")
    allow_insecure_auth: bool = Field(
        False, description="send the password without TLS (only for a relay on a trusted network)")
    username: str | None = Field(None, description="SMTP login, with password")
    password: SecretStr | None = Field(None, description="SMTP password, with username")
    timeout: float = Field(10.0, gt=0, description="seconds for the SMTP conversation")

    @field_validator("to", mode="before")
    @classmethod
    def _addresses(cls, value: Any) -> list[str]:
        if isinstance(value, str):
            value = [a for a in value.split(",") if a.strip()]
        if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
            raise ValueError("expected an e-mail address or a list of them")
        if not value:
            raise ValueError("expected at least one e-mail address")
        return [_address(a) for a in value]

    @field_validator("from_")
    @classmethod
    def _sender(cls, value: str) -> str:
        return _address(value)

    @field_validator("smtp")
    @classmethod
    def _host_port(cls, value: str) -> str:
        _split_host_port(value)
        return value.strip()

    @model_validator(mode="after")
    def _login_pair(self) -> EmailParams:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together: set both or neither")
        if self.starttls and self.ssl:
            raise ValueError("starttls and ssl are two ways to the same TLS: set one")
        if self.password is not None and not (self.starttls or self.ssl or self.allow_insecure_auth):
            raise ValueError("a password is only sent over TLS: set starttls: true (port 587) or "
                             "ssl: true (port 465); allow_insecure_auth: true sends it in clear text")
        return self

    @property
    def host_port(self) -> tuple[str, int]:
        return _split_host_port(self.smtp)


def _address(value: str) -> str:
    value = value.strip()
    _, addr = parseaddr(value)
    if "@" not in addr or addr.startswith("@") or addr.endswith("@") or " " in addr:
        raise ValueError(f"'{value}' is not an e-mail address")
    return value


def _split_host_port(value: str) -> tuple[str, int]:
    host, sep, port = value.strip().rpartition(":")
    if not sep:  # a bare host
        host, port = value.strip(), "25"
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"'{value}' is not host:port, e.g. smtp.example.com:587")
    return host, int(port)


class EmailNotifier(Notifier[EmailParams]):
    """Sends the event by e-mail: subject = title, body = text and the JSON payload."""

    kind = "email"
    params_model = EmailParams
    shorthand = "to"

    def default_name(self) -> str:
        return "email:" + ",".join(parseaddr(a)[1] for a in self.params.to)

    def message(self, event: Event) -> EmailMessage:
        p = self.params
        msg = EmailMessage()
        msg["Subject"] = event.title
        msg["From"] = p.from_
        msg["To"] = ", ".join(p.to)
        msg["Date"] = format_datetime(event.time)
        msg["Message-ID"] = make_msgid(domain="podium")
        msg["X-Podium-Event"] = event.kind
        figures = json.dumps(event.to_dict()["payload"], indent=2, ensure_ascii=False)
        msg.set_content(f"{event.text}\n\n---\nFigures (JSON):\n{figures}\n")
        return msg

    def send(self, event: Event) -> None:
        p = self.params
        host, port = p.host_port
        msg = self.message(event)
        try:
            connect = (smtplib.SMTP_SSL(host, port, timeout=p.timeout, context=ssl.create_default_context())
                       if p.ssl else smtplib.SMTP(host, port, timeout=p.timeout))
            with connect as smtp:
                if p.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if p.username is not None and p.password is not None:
                    smtp.login(p.username, p.password.get_secret_value())
                refused = smtp.send_message(msg)
        except (smtplib.SMTPException, OSError) as exc:
            problem = f"{type(exc).__name__}: {exc}".rstrip(": ")
            if p.password is not None:
                problem = problem.replace(p.password.get_secret_value(), "***")
            raise NotifyError(f"email via {host}:{port}: {_one_line(problem, 200)}.") from None
        if refused:
            raise NotifyError(f"email via {host}:{port}: refused recipients "
                              f"{', '.join(sorted(refused))}.")


notifier_kinds.register("log", LogNotifier)
notifier_kinds.register("webhook", WebhookNotifier)
notifier_kinds.register("email", EmailNotifier)
