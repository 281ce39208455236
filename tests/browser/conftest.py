"""Browser tests: Debian's Chromium driven by Playwright against a real `podium console` on 127.0.0.1.

They run as their own pytest invocation (`make test`): sync Playwright and asyncio fixtures do not mix.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart"
SHOTS = ROOT / "docs" / "console"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, object]) -> dict[str, object]:
    """Debian's Chromium: Playwright's own browser download has no route here."""
    if not Path(CHROMIUM).exists():
        _unavailable("chromium is missing: apt-get install chromium (make system-deps)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, object]) -> dict[str, object]:
    """The console's quality bar: readable at 1280×800."""
    return {**browser_context_args, "viewport": {"width": 1280, "height": 800}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


PODIUM = [sys.executable, "-c", "from podium.cli.main import main; main()"]


def _podium(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PODIUM, *args], cwd=cwd, text=True, capture_output=True, check=True, timeout=60)


def _start_console(project: Path, *extra: str) -> Iterator[str]:
    if importlib.util.find_spec("podium.console") is None:
        pytest.skip("podium.console (the console's API) is not in this checkout")
    if not (ROOT / "src" / "podium" / "console" / "static" / "index.html").is_file():
        _unavailable("the console is not built: make console")
    port = _free_port()
    log = (project / "console.log").open("w")
    proc = subprocess.Popen([*PODIUM, "console", "--port", str(port), *extra],
                            cwd=project, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                urllib.request.urlopen(url + "/", timeout=2).close()
                break
            except (urllib.error.URLError, ConnectionError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"podium console did not start: {(project / 'console.log').read_text()}")
                time.sleep(0.1)  # polling for the port to open, not a synchronisation by time
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _project(tmp: Path) -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    for f in ("customers.csv", "new_customers.csv"):
        shutil.copy(QUICKSTART / f, tmp / f)
    return tmp


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project folder holding the quickstart's data."""
    return _project(tmp_path_factory.mktemp("console") / "project")


@pytest.fixture(scope="session")
def console(project: Path) -> Iterator[str]:
    """URL of `podium console --no-auth` over the project folder."""
    yield from _start_console(project, "--no-auth")


@pytest.fixture(scope="session")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(URL, admin key) of a `podium console` that asks for a sign-in."""
    folder = _project(tmp_path_factory.mktemp("secured") / "project")
    created = _podium("keys", "create", "--name", "me", "--admin", cwd=folder)
    key = next((w for w in created.stdout.split() if w.startswith("pdm_")), None)
    assert key, created.stdout
    for url in _start_console(folder):
        yield url, key


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the tests save screenshots: docs/console/ (the docs show them) with
    PODIUM_CONSOLE_SCREENSHOTS=1, else a temporary folder, so a test run leaves the checkout clean."""
    if os.environ.get("PODIUM_CONSOLE_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        return SHOTS
    return tmp_path_factory.mktemp("screenshots")
