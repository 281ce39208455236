"""A service whose registry refuses its heartbeat keeps serving and says why once, not every beat."""

import logging

import pytest

from podium.registry import Registry
from podium.serving.options import ServeOptions
from podium.serving.registration import Heartbeat


class RefusingStore:
    def __init__(self) -> None:
        self.calls = 0
        self.refuse = True

    def beat(self, *args: object, **kwargs: object) -> None:
        self.calls += 1
        if self.refuse:
            raise PermissionError("permission denied for table services")


def test_a_refused_heartbeat_is_logged_once_until_it_succeeds(tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    registry = Registry(f"sqlite:///{tmp_path / 'registry.db'}", str(tmp_path / "artifacts"))
    beat = Heartbeat(registry, ServeOptions(service_id="svc-1"), versions=list, supervisor_pid=1)
    beat.store = store = RefusingStore()  # type: ignore[assignment]
    with caplog.at_level(logging.WARNING, logger="podium.serving"):
        assert [beat.beat() for _ in range(3)] == [False, False, False]
        store.refuse = False
        assert beat.beat() is True
        store.refuse = True
        assert beat.beat() is False
    warnings = [r.getMessage() for r in caplog.records if "could not record this service" in r.getMessage()]
    assert warnings == ["could not record this service in the registry: permission denied for table services"] * 2
    assert store.calls == 5
