"""Periodic: the daemon thread behind the heartbeat, the alias watcher and the prediction log."""

from __future__ import annotations

import threading

from podium._internal.periodic import Periodic


def _named(name: str) -> int:
    return [t.name for t in threading.enumerate()].count(name)


def test_ticks_until_stopped_and_starts_once() -> None:
    ticks: list[int] = []
    third = threading.Event()

    def tick() -> None:
        ticks.append(1)
        if len(ticks) == 3:
            third.set()

    periodic = Periodic(tick, 0.01, name="podium-test-periodic")
    periodic.start()
    periodic.start()  # a second start does not start a second thread
    assert third.wait(10)
    assert _named("podium-test-periodic") == 1
    periodic.stop()
    assert _named("podium-test-periodic") == 0  # joined: no tick comes after stop


def test_immediately_ticks_before_the_first_wait_and_stop_wakes_the_wait() -> None:
    ticked = threading.Event()
    periodic = Periodic(ticked.set, 3600, name="podium-test-immediate", immediately=True)
    periodic.start()
    assert ticked.wait(10)
    periodic.stop()  # an hour-long wait is woken at once
    assert _named("podium-test-immediate") == 0
