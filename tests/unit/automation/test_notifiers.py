"""Notifiers without servers: config validation, payload formats, logging, isolation."""

from __future__ import annotations

import json
import logging
import math
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from podium.automation.events import Event, format_leaderboard_text, gate_failed_event, jsonable
from podium.automation.notifiers import (
    Delivery,
    EmailNotifier,
    LogNotifier,
    Notifier,
    NotifierParams,
    NotifyError,
    WebhookNotifier,
    build_notifiers,
    notifier_kinds,
    notify_all,
    redact_url,
)
from podium.errors import NotFoundError, SpecError

SECRET_URL = "https://hooks.slack.com/services/T000/B000/s3cr3tT0ken"

ROWS: list[dict[str, Any]] = [
    {"rank": 1, "candidate": "random_forest", "score": 0.8312, "fit_seconds": 1.234,
     "status": "ok", "error": None},
    {"rank": 2, "candidate": "logistic_regression", "score": 0.81, "fit_seconds": 0.1,
     "status": "ok", "error": None},
    {"rank": None, "candidate": "mlp", "score": None, "fit_seconds": 3.0,
     "status": "failed", "error": "ValueError: Input contains NaN\nat line 3"},
]


def gate_event() -> Event:
    return gate_failed_event(model="churn", run_id="r42", metric="accuracy", threshold=0.85,
                             best_score=0.8312, rows=ROWS, command="podium run churn.yaml")


# --- events ------------------------------------------------------------------------------


def test_event_rejects_an_unknown_kind_and_keeps_the_title_on_one_line() -> None:
    with pytest.raises(ValueError, match="'gate_fail' is not an event kind"):
        Event("gate_fail", "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs a title"):
        Event("promoted", " \n ")
    assert Event("promoted", "churn v3\n  is champion").title == "churn v3 is champion"


def test_event_document_is_json_with_finite_numbers() -> None:
    when = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
    event = Event("drift", "drift", "text", {"psi": math.nan, "cols": ("a", "b"), "n": 3}, when)
    assert event.to_dict() == {
        "event": "drift", "title": "drift", "text": "text",
        "payload": {"psi": None, "cols": ["a", "b"], "n": 3},
        "time": "2024-05-01T12:00:00+00:00",
    }
    json.dumps(event.to_dict(), allow_nan=False)


def test_jsonable_turns_numpy_values_into_plain_ones() -> None:
    np = pytest.importorskip("numpy")
    assert jsonable({"x": np.float64(0.5), "v": np.array([1, 2]), "i": np.int64(3)}) == {
        "x": 0.5, "v": [1, 2], "i": 3}


def test_leaderboard_text_is_a_fixed_width_table() -> None:
    lines = format_leaderboard_text(ROWS, "accuracy").splitlines()
    assert lines[0].split() == ["rank", "candidate", "accuracy", "fit", "s", "status"]
    assert set(lines[1]) == {"-"}
    assert lines[2].split() == ["1", "random_forest", "0.8312", "1.23", "ok"]
    assert lines[4].split()[:4] == ["-", "mlp", "-", "3.00"]
    assert "failed: ValueError: Input contains NaN at line 3" in lines[4]
    # the columns line up: scores end under the metric's name, fit times under "fit s"
    score_end = lines[0].index("accuracy") + len("accuracy")
    fit_end = lines[0].index("fit s") + len("fit s")
    for line, score, fit in zip(lines[2:], ["0.8312", "0.8100", "-"], ["1.23", "0.10", "3.00"]):
        assert line[score_end - len(score):score_end] == score
        assert line[fit_end - len(fit):fit_end] == fit


def test_leaderboard_text_cuts_long_boards_and_says_so() -> None:
    rows = [dict(ROWS[0], rank=i, candidate=f"c{i}") for i in range(1, 31)]
    text = format_leaderboard_text(rows, "rmse", max_rows=5)
    assert len(text.splitlines()) == 2 + 5 + 1
    assert text.endswith("… and 25 more rows (see the run's leaderboard)")
    assert "(no trials)" in format_leaderboard_text([], "rmse")


def test_gate_failed_event_says_what_failed_and_what_to_do() -> None:
    event = gate_event()
    assert event.kind == "gate_failed"
    assert event.title == ("churn: best accuracy 0.8312 misses the gate (at least 0.85); "
                           "nothing was promoted")
    assert "the best, random_forest, scored accuracy = 0.8312" in event.text
    assert format_leaderboard_text(ROWS, "accuracy") in event.text
    assert "What to do:" in event.text and "Then run again: podium run churn.yaml" in event.text
    assert event.payload["threshold"] == 0.85 and event.payload["score"] == 0.8312
    assert event.payload["best_candidate"] == "random_forest"
    assert [r["candidate"] for r in event.payload["leaderboard"]] == [
        "random_forest", "logistic_regression", "mlp"]


def test_gate_failed_event_for_a_loss_and_for_no_finished_candidate() -> None:
    loss = gate_failed_event(model="price", run_id="r1", metric="rmse", threshold=10,
                             best_score=12.5, rows=ROWS[:1], greater_is_better=False)
    assert "(at most 10)" in loss.title
    none = gate_failed_event(model="price", run_id="r2", metric="rmse", threshold=10,
                             best_score=None, rows=ROWS[2:])
    assert none.title == "price: no candidate finished in run r2; nothing was promoted"


# --- config ------------------------------------------------------------------------------


def test_build_notifiers_reads_every_form() -> None:
    built = build_notifiers([
        "log",
        {"webhook": "https://hooks.example.com/x"},
        {"webhook": {"url": "https://hooks.example.com/y", "format": "slack",
                     "headers": {"Authorization": "Bearer t"}}},
        {"email": {"to": "ops@example.com, ml@example.com", "smtp": "mail.example.com:587",
                   "from": "bot@example.com", "starttls": True,
                   "username": "bot", "password": "pw"}},
        {"email": "solo@example.com"},
        {"log": None},
    ])
    assert [type(n) for n in built] == [LogNotifier, WebhookNotifier, WebhookNotifier,
                                        EmailNotifier, EmailNotifier, LogNotifier]
    assert [n.name for n in built] == [
        "log", "webhook:hooks.example.com", "webhook:hooks.example.com",
        "email:ops@example.com,ml@example.com", "email:solo@example.com", "log"]
    hook, slack, mail = built[1].params, built[2].params, built[3].params
    assert (hook.url, hook.format, hook.timeout, hook.retries) == (
        "https://hooks.example.com/x", "json", 10.0, 2)
    assert slack.format == "slack" and slack.headers == {"Authorization": "Bearer t"}
    assert mail.to == ["ops@example.com", "ml@example.com"]
    assert mail.host_port == ("mail.example.com", 587) and mail.from_ == "bot@example.com"
    assert built[4].params.host_port == ("localhost", 25)
    assert built[4].params.from_ == "podium@localhost"
    assert build_notifiers(None) == [] and build_notifiers([]) == []


def test_a_notifier_can_be_built_from_keywords_with_the_same_checks() -> None:
    assert WebhookNotifier(url="http://127.0.0.1/x", name="ops").name == "ops"
    with pytest.raises(SpecError, match=r"^webhook\.url: required parameter is missing\.$"):
        WebhookNotifier()


@pytest.mark.parametrize(
    ("config", "error", "match"),
    [
        (["webhok"], NotFoundError,
         r"^notify\[0\]: 'webhok' is not a notifier\. Did you mean 'webhook'\?$"),
        (["log", {"e-mail": {}}], NotFoundError,
         r"^notify\[1\]: 'e-mail' is not a notifier\. Did you mean 'email'\?$"),
        (["log", {"email": {"smtp": "mail:25"}}], SpecError,
         r"^notify\[1\]\.email\.to: required parameter is missing\.$"),
        ([{"email": {"to": "bob"}}], SpecError,
         r"^notify\[0\]\.email\.to: 'bob' is not an e-mail address\.$"),
        ([{"email": {"to": []}}], SpecError,
         r"^notify\[0\]\.email\.to: expected at least one e-mail address\.$"),
        ([{"email": {"to": 7}}], SpecError,
         r"^notify\[0\]\.email\.to: expected an e-mail address or a list of them\.$"),
        ([{"email": {"to": "a@example.com", "tos": "b@example.com"}}], SpecError,
         r"^notify\[0\]\.email\.tos: unknown parameter\. Did you mean 'to'\?$"),
        ([{"email": {"to": "a@example.com", "smtp": "mail:abc"}}], SpecError,
         r"^notify\[0\]\.email\.smtp: 'mail:abc' is not host:port, e\.g\. smtp\.example\.com:587\.$"),
        ([{"email": {"to": "a@example.com", "username": "u"}}], SpecError,
         r"^notify\[0\]\.email: username and password go together: set both or neither\.$"),
        ([{"email": {"to": "a@example.com", "starttls": "maybe"}}], SpecError,
         r"^notify\[0\]\.email\.starttls: Input should be a valid boolean"),
        ([{"webhook": {"url": "ftp://files.example.com/x"}}], SpecError,
         r"^notify\[0\]\.webhook\.url: expected an http:// or https:// URL"),
        ([{"webhook": {"url": "https://x.example.com", "format": "discord"}}], SpecError,
         r"^notify\[0\]\.webhook\.format: Input should be 'json', 'slack' or 'teams'\.$"),
        ([{"webhook": {"url": "https://x.example.com", "retries": -1}}], SpecError,
         r"^notify\[0\]\.webhook\.retries: Input should be greater than or equal to 0\.$"),
        ([{"webhook": 3}], SpecError,
         r"^notify\[0\]\.webhook: expected a mapping of parameters or a value for 'url', got int\.$"),
        ([{"log": {"level": "debug"}}], SpecError,
         r"^notify\[0\]\.log\.level: unknown parameter\. Choose from: logger, name\.$"),
        ([42], SpecError,
         r"^notify\[0\]: expected a notifier name or a mapping like \{webhook: URL\}, got int\.$"),
        ([{"log": None, "webhook": "https://x.example.com"}], SpecError,
         r"^notify\[0\]: one notifier per item, got keys 'log', 'webhook'\. Hint: write each"),
        ("log", SpecError, r"^notify: expected a list of notifiers"),
    ],
)
def test_bad_config_names_the_item_the_parameter_and_the_problem(
    config: Any, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        build_notifiers(config)


def test_all_problems_of_one_item_are_reported_together() -> None:
    with pytest.raises(SpecError, match=(
        r"^notify\[0\]\.email\.to: 'bob' is not an e-mail address; "
        r"notify\[0\]\.email\.from: 'x' is not an e-mail address\.$"
    )):
        build_notifiers([{"email": {"to": "bob", "from": "x"}}])


def test_a_caller_can_say_where_the_list_comes_from() -> None:
    with pytest.raises(NotFoundError, match=r"^podium\.yaml: notify\[0\]: 'sms' is not"):
        build_notifiers(["sms"], where="podium.yaml: notify")


def test_secrets_stay_out_of_errors_and_reprs() -> None:
    with pytest.raises(SpecError) as info:
        build_notifiers([{"webhook": {"url": SECRET_URL, "format": "x",
                                      "headers": {"Authorization": "Bearer s3cr3tT0ken"}}}])
    with pytest.raises(SpecError) as info2:
        build_notifiers([{"email": {"to": "bob", "username": "u", "password": "hunter2"}}])
    hook = WebhookNotifier(url=SECRET_URL, headers={"Authorization": "Bearer s3cr3tT0ken"})
    mail = EmailNotifier(to="a@example.com", username="u", password="hunter2", starttls=True)
    for text in (str(info.value), repr(hook), repr(hook.params), hook.name):
        assert "s3cr3tT0ken" not in text
    for text in (str(info2.value), repr(mail), repr(mail.params)):
        assert "hunter2" not in text


@pytest.mark.parametrize(("url", "shown"), [
    (SECRET_URL, "https://hooks.slack.com/…"),
    ("http://user:pw@127.0.0.1:8080/hook?token=abc", "http://127.0.0.1:8080/…"),
    ("https://example.com", "https://example.com"),
    ("http://[::1]:9000/x", "http://[::1]:9000/…"),
])
def test_redact_url_keeps_only_where_it_goes(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_registry_lists_the_builtins_and_takes_plugins() -> None:
    assert {"log", "webhook", "email"} <= set(notifier_kinds.names())

    class PagerParams(NotifierParams):
        service: str

    class Pager(Notifier[PagerParams]):
        kind = "test-pager"
        params_model = PagerParams
        shorthand = "service"

        def send(self, event: Event) -> None:
            pass

    notifier_kinds.register("test-pager", Pager, replace=True)
    (built,) = build_notifiers([{"test-pager": "db-team"}])
    assert isinstance(built, Pager) and built.params.service == "db-team"
    with pytest.raises(SpecError, match=r"^notify\[0\]\.test-pager\.service: required"):
        build_notifiers([{"test-pager": {}}])


# --- webhook payloads (in-memory transport) ----------------------------------------------


class Recorder:
    """An httpx transport that answers with the given statuses, then 200, and records."""

    def __init__(self, *statuses: int | Exception) -> None:
        self.statuses = list(statuses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status = self.statuses.pop(0) if self.statuses else 200
        if isinstance(status, Exception):
            raise status
        return httpx.Response(status, text="" if status < 400 else "no_service")

    def hook(self, **params: Any) -> WebhookNotifier:
        params.setdefault("url", SECRET_URL)
        return WebhookNotifier(transport=httpx.MockTransport(self), **params)

    def body(self, i: int = -1) -> Any:
        return json.loads(self.requests[i].content)


@pytest.fixture(autouse=True)
def no_retry_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(WebhookNotifier, "retry_delay", 0.0)


def test_webhook_json_format_posts_the_event_document() -> None:
    rec = Recorder()
    event = gate_event()
    rec.hook(headers={"Authorization": "Bearer t"}).send(event)
    (request,) = rec.requests
    assert request.method == "POST" and str(request.url) == SECRET_URL
    assert request.headers["content-type"] == "application/json"
    assert request.headers["authorization"] == "Bearer t"
    assert rec.body() == json.loads(json.dumps(event.to_dict()))
    assert set(rec.body()) == {"event", "title", "text", "payload", "time"}


def test_webhook_slack_format_has_text_and_blocks() -> None:
    rec = Recorder()
    event = gate_event()
    rec.hook(format="slack").send(event)
    body = rec.body()
    assert body["text"] == event.title
    header, section, fields, context = body["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": event.title[:150]}}
    assert section["text"]["type"] == "mrkdwn"
    assert section["text"]["text"].startswith("```") and "random_forest" in section["text"]["text"]
    assert {"type": "mrkdwn", "text": "*threshold*\n0.85"} in fields["fields"]
    assert context["type"] == "context" and "gate_failed" in context["elements"][0]["text"]


def test_webhook_slack_format_escapes_and_caps_the_text() -> None:
    rec = Recorder()
    rec.hook(format="slack").send(Event("run_failed", "t", "<a> & b " * 1000))
    text = rec.body()["blocks"][1]["text"]["text"]
    assert text.startswith("```&lt;a&gt; &amp; b") and len(text) <= 3000


def test_webhook_teams_format_is_an_adaptive_card() -> None:
    rec = Recorder()
    event = gate_event()
    rec.hook(format="teams").send(event)
    body = rec.body()
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    title, text, facts, _ = card["body"]
    assert title["text"] == event.title and title["weight"] == "Bolder"
    assert text["text"] == event.text and text["fontType"] == "Monospace"
    assert {"title": "run_id", "value": "r42"} in facts["facts"]


def test_webhook_retries_server_errors_and_connection_errors() -> None:
    rec = Recorder(503, httpx.ConnectError("refused"))
    rec.hook().send(gate_event())
    assert len(rec.requests) == 3
    assert rec.requests[0].content == rec.requests[2].content


def test_webhook_gives_up_after_the_retries_without_showing_the_token() -> None:
    rec = Recorder(500, 500, 500)
    with pytest.raises(NotifyError, match=(
        r"^webhook https://hooks\.slack\.com/…: HTTP 500 Internal Server Error \(no_service\) "
        r"after 3 attempts\.$"
    )):
        rec.hook().send(gate_event())
    assert len(rec.requests) == 3


def test_webhook_does_not_retry_a_client_error() -> None:
    rec = Recorder(404)
    with pytest.raises(NotifyError, match=r"HTTP 404 Not Found \(no_service\)\.$"):
        rec.hook(retries=5).send(gate_event())
    assert len(rec.requests) == 1


def test_webhook_scrubs_the_url_from_transport_errors() -> None:
    rec = Recorder(httpx.ConnectError(f"cannot reach {SECRET_URL}"))
    with pytest.raises(NotifyError) as info:
        rec.hook(retries=0).send(gate_event())
    assert "s3cr3tT0ken" not in str(info.value)
    assert str(info.value) == (
        "webhook https://hooks.slack.com/…: ConnectError: cannot reach "
        "https://hooks.slack.com/… (no retries).")


# --- email (message and SMTP conversation, without a server) -----------------------------


def test_email_message_has_the_title_as_subject_and_the_figures_in_the_body() -> None:
    mail = EmailNotifier(to=["ops@example.com", "Ml Team <ml@example.com>"])
    event = gate_event()
    msg = mail.message(event)
    assert msg["Subject"] == event.title
    assert msg["From"] == "podium@localhost"
    assert msg["To"] == "ops@example.com, Ml Team <ml@example.com>"
    assert msg["X-Podium-Event"] == "gate_failed"
    body = msg.get_content()
    assert body.startswith(event.text)
    figures = json.loads(body.split("Figures (JSON):\n", 1)[1])
    assert figures == json.loads(json.dumps(event.to_dict()["payload"]))


class FakeSMTP:
    calls: list[tuple[str, Any]] = []

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.calls.append(("connect", (host, port, timeout)))

    def __enter__(self) -> FakeSMTP:
        return self

    def __exit__(self, *exc: object) -> None:
        self.calls.append(("quit", None))

    def starttls(self, context: Any) -> None:
        self.calls.append(("starttls", None))

    def login(self, user: str, password: str) -> None:
        if password != "right":
            import smtplib

            raise smtplib.SMTPAuthenticationError(535, b"bad credentials for " + password.encode())
        self.calls.append(("login", user))

    def send_message(self, msg: Any) -> dict[str, Any]:
        self.calls.append(("send", msg["To"]))
        return {}


def test_email_uses_starttls_then_login_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("podium.automation.notifiers.smtplib.SMTP", FakeSMTP)
    FakeSMTP.calls = []
    EmailNotifier(to="a@example.com", smtp="mail.example.com:587", starttls=True,
                  username="bot", password="right").send(gate_event())
    assert FakeSMTP.calls == [("connect", ("mail.example.com", 587, 10.0)), ("starttls", None),
                              ("login", "bot"), ("send", "a@example.com"), ("quit", None)]


def test_email_refuses_a_password_without_tls() -> None:
    with pytest.raises(SpecError, match=r"^notify\[0\]\.email: a password is only sent over TLS: set "
                                        r"starttls: true"):
        build_notifiers([{"email": {"to": "a@example.com", "username": "bot", "password": "pw"}}])
    with pytest.raises(SpecError, match="starttls and ssl are two ways"):
        build_notifiers([{"email": {"to": "a@example.com", "starttls": True, "ssl": True}}])
    (relay,) = build_notifiers([{"email": {"to": "a@example.com", "username": "bot", "password": "pw",
                                           "allow_insecure_auth": True}}])
    assert relay.params.allow_insecure_auth


def test_notifier_secrets_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PODIUM_TEST_HOOK_TOKEN", "t0k3n")
    (hook,) = build_notifiers([{"webhook": {"url": "https://hooks.example.com/${PODIUM_TEST_HOOK_TOKEN}",
                                            "headers": {"Authorization": "Bearer ${PODIUM_TEST_HOOK_TOKEN}"}}}])
    assert hook.params.url == "https://hooks.example.com/t0k3n"
    assert hook.params.headers == {"Authorization": "Bearer t0k3n"}
    monkeypatch.delenv("PODIUM_TEST_HOOK_TOKEN")
    with pytest.raises(SpecError, match=r"^notify\[0\]\.webhook: the environment variable "
                                        r"'PODIUM_TEST_HOOK_TOKEN' is not set\."):
        build_notifiers([{"webhook": "https://hooks.example.com/${PODIUM_TEST_HOOK_TOKEN}"}])


def test_email_failure_hides_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("podium.automation.notifiers.smtplib.SMTP", FakeSMTP)
    mail = EmailNotifier(to="a@example.com", username="bot", password="wrong-s3cret", starttls=True)
    with pytest.raises(NotifyError, match=r"^email via localhost:25: SMTPAuthenticationError") as info:
        mail.send(gate_event())
    assert "wrong-s3cret" not in str(info.value)


# --- log ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "level"), [
    ("gate_failed", logging.WARNING), ("run_failed", logging.WARNING),
    ("drift", logging.WARNING), ("promoted", logging.INFO), ("registered", logging.INFO),
])
def test_log_notifier_warns_when_a_person_must_act(
    caplog: pytest.LogCaptureFixture, kind: Any, level: int
) -> None:
    caplog.set_level(logging.INFO, logger="podium.notify")
    LogNotifier().send(Event(kind, "churn: something", "line one\nline two", {"run_id": "r1"}))
    (record,) = caplog.records
    assert (record.name, record.levelno) == ("podium.notify", level)
    assert record.getMessage() == "churn: something\n  line one\n  line two"
    assert record.podium_event["payload"] == {"run_id": "r1"}  # type: ignore[attr-defined]


def test_log_notifier_can_write_to_another_logger(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    build_notifiers([{"log": {"logger": "ops.alerts"}}])[0].send(Event("promoted", "ok"))
    assert [(r.name, r.getMessage()) for r in caplog.records] == [("ops.alerts", "ok")]


# --- notify_all --------------------------------------------------------------------------


class Capturing(Notifier[NotifierParams]):
    kind = "capture"
    params_model = NotifierParams

    def __init__(self, name: str, error: Exception | None = None) -> None:
        super().__init__(name=name)
        self.events: list[Event] = []
        self.error = error

    def send(self, event: Event) -> None:
        if self.error is not None:
            raise self.error
        self.events.append(event)


def test_one_failing_notifier_never_stops_the_others(caplog: pytest.LogCaptureFixture) -> None:
    first, broken, refused, last = (
        Capturing("first"), Capturing("broken", RuntimeError("boom\nsecond line")),
        Capturing("refused", NotifyError("webhook http://x/…: HTTP 500.")), Capturing("last"))
    event = gate_event()
    deliveries = notify_all([first, broken, refused, last], event)
    assert deliveries == [
        Delivery("first", True),
        Delivery("broken", False, "RuntimeError: boom second line"),
        Delivery("refused", False, "webhook http://x/…: HTTP 500."),
        Delivery("last", True),
    ]
    assert first.events == [event] and last.events == [event]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "notifier broken could not send the gate_failed event: RuntimeError: boom second line",
        "notifier refused could not send the gate_failed event: webhook http://x/…: HTTP 500.",
    ]


def test_notify_all_with_nothing_to_notify() -> None:
    assert notify_all([], Event("promoted", "x")) == []
