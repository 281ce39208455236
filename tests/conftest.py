"""Shared fixtures: real servers on 127.0.0.1, started once per test session."""

from __future__ import annotations

import ctypes
import os
import sys

import psutil
import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")

from podium.testing import servers  # noqa: E402


def _serve(factory, request):
    try:
        ctx = factory()
        url = ctx.__enter__()
    except servers.ServerUnavailable as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(exc))
    request.addfinalizer(lambda: ctx.__exit__(None, None, None))
    return url


@pytest.fixture(scope="session")
def postgres_url(request) -> str:
    """SQLAlchemy URL of a real PostgreSQL server with an empty database."""
    return _serve(servers.postgres_server, request)


@pytest.fixture(scope="session")
def redis_url(request) -> str:
    """redis:// URL of a real redis-server."""
    return _serve(servers.redis_server, request)


@pytest.fixture(scope="session")
def mongo_url(request) -> str:
    """mongodb:// URL of a MongoDB-wire server (nx-27017)."""
    return _serve(servers.mongo_wire_server, request)


# --- no process left behind ----------------------------------------------------------------
# The session adopts orphans (Linux: a child subreaper), so that a worker whose parent a test
# killed is still seen here; at the end, whatever the tests started and left running is
# listed, stopped, and fails the session.

_PR_SET_CHILD_SUBREAPER = 36
_HARMLESS = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")


def pytest_configure(config: pytest.Config) -> None:
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        except (OSError, AttributeError):
            pass


def stray_processes() -> list[psutil.Process]:
    """Live descendants of this test process, but the interpreter's own helpers."""
    strays = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                continue
            if any(h in " ".join(child.cmdline()) for h in _HARMLESS):
                continue
        except psutil.NoSuchProcess:
            continue
        strays.append(child)
    return strays


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    strays = stray_processes()
    if not strays:
        return
    lines = []
    for process in strays:
        try:
            lines.append(f"  pid {process.pid}: {' '.join(process.cmdline())[:200]}")
            process.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(strays, timeout=5)
    for process in alive:
        process.kill()
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    message = f"the tests left {len(strays)} process(es) running (now stopped):\n" + "\n".join(lines)
    if reporter is not None:
        reporter.write_line(message, red=True)
    else:
        print(message, file=sys.stderr)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
