"""A user's path through the CLI: the real `podium` command in a fresh project folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart"
PODIUM = str(Path(sys.executable).parent / "podium")


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> dict:
        return json.loads(self.out)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("customers.csv", "new_customers.csv"):
        shutil.copy(QUICKSTART / name, tmp_path / name)
    return tmp_path


@pytest.fixture
def podium(project: Path):
    def call(*args: str, timeout: float = 180) -> Result:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200", "PODIUM_HOME": str(project)}
        proc = subprocess.run([PODIUM, *args], cwd=project, capture_output=True, text=True,
                              timeout=timeout, env=env)
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return call


@pytest.fixture
def webhook():
    """A real HTTP receiver on 127.0.0.1: (its URL, the JSON bodies it received)."""
    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
