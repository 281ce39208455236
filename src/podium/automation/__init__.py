"""Automation: running pipelines end to end, deciding promotions, notifying people."""

from podium.automation.events import Event, EventKind, format_leaderboard_text, gate_failed_event
from podium.automation.notifiers import (
    Delivery,
    Notifier,
    NotifierParams,
    NotifyError,
    build_notifiers,
    notifier_kinds,
    notify_all,
)

__all__ = [
    "Event", "EventKind", "format_leaderboard_text", "gate_failed_event",
    "Delivery", "Notifier", "NotifierParams", "NotifyError", "build_notifiers", "notifier_kinds",
    "notify_all",
]
