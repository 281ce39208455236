"""A promotion survives SIGKILL of its watcher at any point, and an uploader cannot steer it.

Each kill is placed, not guessed: ``PODIUM_TEST_KILL_AT=<failpoint>`` makes the watcher
kill itself (SIGKILL) exactly there — between claiming and running, recording the decision
and registering, registering and moving the alias, moving it and notifying... A second
``podium watch --once`` then recovers, and the registry must be consistent: one challenger
version, the alias on it, every promotion finished, no run left running, and a person told.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from podium.automation.watch import Watcher
from podium.config import load_settings
from podium.registry import Registry
from podium.registry.pipelines import PipelineStore
from podium.registry.records import FINAL_PROMOTION_STATES

from test_job_leases import PODIUM, SPEC, env, write_data  # noqa: E402  (same folder)

pytestmark = pytest.mark.reliability

#: every place a promoting run can die, in the order it reaches them
KILL_POINTS = [
    "watch.claimed",            # the job is claimed; no run yet
    "run.started",              # the run is recorded
    "run.trials_recorded",      # the competition is over
    "run.decided",              # the promotion decision is recorded; nothing registered
    "registry.stored",          # the package's files are stored; the version is still pending
    "run.registered",           # the version is registered; the alias has not moved
    "run.version_noted",        # the decision knows its version
    "promotion.completed",      # the alias moved; nobody told yet
    "promotion.notified",       # told, but not recorded as told
    "promotion.marked",         # recorded as told; the run is still "running"
    "promotion.run_finished",   # the run is finished; the job is not
    "watch.ran",                # everything done but marking the job
]


@pytest.fixture
def webhook():
    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()


def _project(tmp_path: Path, registry_url: str | None, hook: str, promotion: dict) -> Registry:
    lines = ["executor: inline", "notify: []", "watch_lease_seconds: 30"]
    if registry_url:
        lines.append(f"registry_url: '{registry_url}'")
    (tmp_path / "podium.yaml").write_text("\n".join(lines) + "\n")
    write_data(tmp_path / "data.csv", n=200, seed=0)
    settings = load_settings(tmp_path)
    watcher = Watcher(settings, quiet_seconds=0)
    watcher.datasets.add("sales", str(tmp_path / "data.csv"))
    watcher.pipelines.bind("churn", {**SPEC, "notify": [{"webhook": hook}], "promotion": promotion},
                           dataset="sales")
    assert watcher.step().ran[0][1] == "registered"  # churn:1 is the champion
    return watcher.registry


def _watch_once(project: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PODIUM, "watch", "--once"], cwd=project, capture_output=True, text=True, timeout=120,
                          env=env(project, **extra))


def _assert_consistent(registry: Registry, received: list[dict], killed_at: str) -> int:
    """The registry after recovery; returns the challenger's version."""
    versions = [v.version for v in registry.list_versions("churn")]
    assert len(versions) == 2, versions  # the champion and one challenger: none trained twice
    challenger = versions[-1]
    assert registry.resolve("churn@champion").version == challenger
    moves = [e.payload for e in registry.list_events(kind="alias_moved", model="churn")]
    assert [(m["from"], m["to"]) for m in moves] == [(1, challenger), (None, 1)]
    runs = registry.list_runs()
    assert all(r.status != "running" for r in runs), [(r.id, r.status) for r in runs]
    assert sorted(r.status for r in runs).count("succeeded") == 2  # churn:1's run and the challenger's
    promotions = registry.list_promotions(model="churn")
    assert all(p.state in FINAL_PROMOTION_STATES for p in promotions), [(p.state, p.version) for p in promotions]
    assert sorted((p.state, p.version) for p in promotions if p.state == "promoted") == \
        [("promoted", 1), ("promoted", challenger)]
    assert all(j.state == "done" for j in PipelineStore(registry).jobs())
    told = [e for e in received if e["event"] == "promoted" and e["payload"]["version"] == challenger]
    assert len(told) == (2 if killed_at == "promotion.notified" else 1)  # twice only if killed between
    return challenger                                                      # telling and noting it


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_watcher_killed_at_any_point_of_a_promotion_recovers_it(tmp_path: Path, webhook, point: str) -> None:
    hook, received = webhook
    registry = _project(tmp_path, None, hook, {"smoke_test": False, "tolerance": 0.5})
    write_data(tmp_path / "data.csv", n=260, seed=1)  # new data: sales:2
    killed = _watch_once(tmp_path, PODIUM_TEST_KILL_AT=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr  # it died exactly there
    recovered = _watch_once(tmp_path)
    assert recovered.returncode == 0, recovered.stderr
    _assert_consistent(registry, received, point)
    if point in KILL_POINTS[KILL_POINTS.index("registry.stored") + 1:]:  # registered: recovery finished it
        assert "recovered its promotion of churn:2" in recovered.stderr, recovered.stderr
    else:  # nothing registered yet: the job ran again
        assert "queued again" in recovered.stderr, recovered.stderr


def test_a_kill_between_register_and_alias_move_recovers(tmp_path: Path, webhook,
                                                         registry_url: str | None) -> None:
    hook, received = webhook
    # the smoke test (a fresh process) is part of the decision, taken before registering
    registry = _project(tmp_path, registry_url, hook, {"smoke_test": registry_url is None, "tolerance": 0.5})
    write_data(tmp_path / "data.csv", n=260, seed=1)
    assert _watch_once(tmp_path, PODIUM_TEST_KILL_AT="run.registered").returncode == -signal.SIGKILL
    assert registry.resolve("churn@champion").version == 1  # registered, not promoted yet
    decided = registry.list_promotions(state="decided")
    assert len(decided) == 1 and decided[0].decision == "promote" and decided[0].champion == 1
    assert registry.get_run(decided[0].run_id).status == "running"
    assert _watch_once(tmp_path).returncode == 0
    assert _assert_consistent(registry, received, "run.registered") == 2
    registry.close()


def test_a_poisoned_upload_that_wins_on_its_own_holdout_is_not_promoted(tmp_path: Path, webhook) -> None:
    hook, received = webhook
    registry = _project(tmp_path, None, hook, {"smoke_test": False})
    clean = pd.read_csv(tmp_path / "data.csv")
    poisoned = clean.assign(y=np.where(clean["y"] == "a", "b", "a"))  # every label flipped
    poisoned.to_csv(tmp_path / "data.csv", index=False)
    assert _watch_once(tmp_path).returncode == 0
    assert registry.resolve("churn@champion").version == 1
    run = registry.get_run(PipelineStore(registry).jobs()[-1].run_id)
    assert run.status == "not_promoted"
    figures = run.summary["promotion"]
    assert figures["margin"] > 0  # on its own rows, the challenger beats the champion...
    reference = figures["reference"]
    assert reference["rows"] == "sales:1" and reference["margin"] < -0.5  # ...on the reference, it loses
    assert "on the reference holdout sales:1" in figures["message"]
    assert any(e["event"] == "gate_failed" and "reference holdout" in e["title"] for e in received)


def test_manual_approval_waits_for_a_person_and_notifies_the_admin(tmp_path: Path, webhook) -> None:
    hook, received = webhook
    registry = _project(tmp_path, None, hook, {"smoke_test": False, "tolerance": 0.5})
    PipelineStore(registry).bind("churn", {**SPEC, "notify": [{"webhook": hook}], "promotion": {
        "smoke_test": False, "tolerance": 0.5, "approval": "manual"}}, dataset="sales")
    write_data(tmp_path / "data.csv", n=260, seed=1)
    assert _watch_once(tmp_path).returncode == 0
    assert registry.resolve("churn@champion").version == 1
    assert [p.version for p in registry.list_promotions(state="awaiting_approval")] == [2]
    asked = [e for e in received if e["event"] == "approval_needed"]
    assert [e["payload"]["version"] for e in asked] == [2] and "podium models approve churn:2" in asked[0]["text"]
    assert registry.get_run(registry.list_promotions(state="awaiting_approval")[0].run_id).status == \
        "awaiting_approval"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([PODIUM, *args], cwd=tmp_path, capture_output=True, text=True, env=env(tmp_path))

    waiting = json.loads(cli("models", "pending", "--json").stdout)
    assert [(w["model"], w["version"], w["champion"], w["state"]) for w in waiting] == \
        [("churn", 2, 1, "awaiting_approval")]
    refused = cli("models", "approve", "churn:1")
    assert refused.returncode == 2 and "churn:1 is not waiting for approval" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) <= 2  # one clear line (and its hint), no traceback
    approved = cli("models", "approve", "churn:2")
    assert approved.returncode == 0 and "churn@champion: version 1 → 2 (approved)" in approved.stdout
    assert registry.resolve("churn@champion").version == 2
    assert any(e["event"] == "promoted" and e["payload"]["version"] == 2 for e in received)


def test_a_killed_podium_run_is_settled_by_the_next_watcher(tmp_path: Path, webhook) -> None:
    hook, received = webhook
    registry = _project(tmp_path, None, hook, {"smoke_test": False, "tolerance": 0.5})
    (tmp_path / "by_hand.yaml").write_text(json.dumps(
        {**SPEC, "notify": [{"webhook": hook}], "promotion": {"smoke_test": False, "tolerance": 0.5}}))
    killed = subprocess.run([PODIUM, "run", "by_hand.yaml"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120, env=env(tmp_path, PODIUM_TEST_KILL_AT="run.registered"))
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    hand_run = next(r for r in registry.list_runs() if r.status == "running")
    assert hand_run.owner is not None and registry.resolve("churn@champion").version == 1
    recovered = _watch_once(tmp_path)
    assert recovered.returncode == 0, recovered.stderr
    assert f"run {hand_run.id[:12]}: completed its promotion: promoted" in recovered.stderr
    assert registry.get_run(hand_run.id).status == "succeeded"
    assert registry.resolve("churn@champion").version == 2
    assert all(r.status != "running" for r in registry.list_runs())
    assert [e["payload"]["version"] for e in received if e["event"] == "promoted"] == [1, 2]  # churn:1, then 2
