"""Events worth telling a person about, and the plain text that explains them.

An ``Event`` is what notifiers send: a one-line title, a body a person can act on and
a JSON-able payload with the figures the decision was taken on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import PurePath
from typing import Any, Literal, get_args

__all__ = [
    "Event",
    "EventKind",
    "EVENT_KINDS",
    "ALERT_KINDS",
    "format_leaderboard_text",
    "gate_failed_event",
    "jsonable",
]

EventKind = Literal["gate_failed", "run_failed", "promoted", "drift", "registered", "approval_needed"]
EVENT_KINDS: tuple[str, ...] = get_args(EventKind)
#: kinds that ask a person to act; the log notifier writes them as warnings
ALERT_KINDS = frozenset({"gate_failed", "run_failed", "drift", "approval_needed"})


@dataclass(frozen=True)
class Event:
    """Something that happened: ``kind``, a one-line ``title``, a ``text`` body, figures."""

    kind: EventKind
    title: str
    text: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    time: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise ValueError(
                f"'{self.kind}' is not an event kind; choose from {', '.join(EVENT_KINDS)}"
            )
        # A title becomes an e-mail subject and a chat header: one line, always.
        object.__setattr__(self, "title", " ".join(str(self.title).split()))
        if not self.title:
            raise ValueError("an event needs a title")
        if self.time.tzinfo is None:
            object.__setattr__(self, "time", self.time.replace(tzinfo=timezone.utc))

    def to_dict(self) -> dict[str, Any]:
        """The JSON document a webhook receives in the default ``json`` format."""
        return {
            "event": self.kind,
            "title": self.title,
            "text": self.text,
            "payload": jsonable(self.payload),
            "time": self.time.isoformat(),
        }


def jsonable(value: Any) -> Any:
    """``value`` with only JSON types: NaN and infinities become null, numpy scalars plain."""
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((jsonable(v) for v in value), key=str)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    if hasattr(value, "tolist"):  # numpy scalars and arrays, without importing numpy
        return jsonable(value.tolist())
    return str(value)


def _number(value: Any) -> str:
    if value is None:
        return "-"
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(x):
        return "-"
    if x != 0 and (abs(x) >= 1e5 or abs(x) < 1e-3):
        return f"{x:.4g}"
    return f"{x:.4f}"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def format_leaderboard_text(
    rows: Sequence[Mapping[str, Any]], metric: str, *, max_rows: int | None = 20
) -> str:
    """A fixed-width table of leaderboard rows: rank, candidate, score, fit seconds, status.

    ``rows`` are ``Leaderboard.rows()`` dicts (``rank``, ``candidate``, ``score``,
    ``fit_seconds``, ``status``, ``error``); failed trials show their error.
    """
    shown = list(rows if max_rows is None else rows[:max_rows])
    names = [_clip(str(r.get("candidate", "?")), 32) for r in shown]
    name_width = max([len("candidate"), *map(len, names)])
    score_width = max(len(metric), 10)
    lines = [
        f"{'rank':>4}  {'candidate':<{name_width}}  {metric:>{score_width}}  {'fit s':>8}  status",
    ]
    lines.append("-" * len(lines[0]))
    for row, name in zip(shown, names):
        rank = row.get("rank")
        status = str(row.get("status") or "ok")
        error = row.get("error")
        if error:
            status = f"{status}: {_clip(' '.join(str(error).split()), 60)}"
        fit = row.get("fit_seconds")
        fit_text = "-" if fit is None else f"{float(fit):.2f}"
        lines.append(
            f"{'-' if rank is None else rank:>4}  {name:<{name_width}}  "
            f"{_number(row.get('score')):>{score_width}}  {fit_text:>8}  {status}"
        )
    if not rows:
        lines.append("(no trials)")
    elif len(shown) < len(rows):
        lines.append(f"… and {len(rows) - len(shown)} more rows (see the run's leaderboard)")
    return "\n".join(lines)


def gate_failed_event(
    *,
    model: str,
    run_id: str,
    metric: str,
    threshold: float | None,
    best_score: float | None,
    rows: Sequence[Mapping[str, Any]],
    greater_is_better: bool = True,
    command: str | None = None,
) -> Event:
    """The event for a winner that missed the gate: leaderboard, threshold and what to do."""
    word = "at least" if greater_is_better else "at most"
    bar = "(none)" if threshold is None else f"{threshold:g}"
    best = next((r for r in rows if r.get("status", "ok") == "ok"), None)
    if best_score is None:
        title = f"{model}: no candidate finished in run {run_id}; nothing was promoted"
        verdict = f"No candidate of run {run_id} finished, so there is no model to promote."
    else:
        title = (f"{model}: best {metric} {_number(best_score)} misses the gate "
                 f"({word} {bar}); nothing was promoted")
        who = f"the best, {best.get('candidate')}," if best else "the best candidate"
        verdict = (f"Run {run_id} trained {len(rows)} trial(s); {who} scored {metric} = "
                   f"{_number(best_score)}, but the gate asks for {word} {bar}.")
    todo = [
        "- read the failed trials' errors in the table, if any;",
        "- give the competition more time (time_budget) or more candidates;",
        "- check the data: more rows, a leak-free target, useful columns;",
        f"- or, if the bar is too high, lower gate.min_score ({metric} {word} "
        f"{bar} now).",
    ]
    if command:
        todo.append(f"Then run again: {command}")
    text = "\n".join([
        verdict,
        "The current champion, if any, stays in place.",
        "",
        "Leaderboard:",
        format_leaderboard_text(rows, metric),
        "",
        "What to do:",
        *todo,
    ])
    payload = {
        "model": model,
        "run_id": run_id,
        "metric": metric,
        "score": best_score,
        "threshold": threshold,
        "greater_is_better": greater_is_better,
        "best_candidate": best.get("candidate") if best else None,
        "leaderboard": [dict(r) for r in rows],
    }
    return Event("gate_failed", title, text, payload)
