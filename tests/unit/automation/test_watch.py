"""The watcher: versions → jobs exactly once, in order, debounced, resumed after a crash."""

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from podium.automation.watch import Backoff, Watcher
from podium.config import load_settings
from sqlalchemy import update

from podium.registry.pipelines import PipelineStore, jobs_table, new_owner, owner_alive

ELSEWHERE = "another-machine/0:4242:token"

SPEC = {"name": "churn", "source": "data.csv", "target": "y", "budget": {"trials": 2},
        "candidates": ["logistic_regression"], "notify": [], "promotion": {"smoke_test": False}}


def _write(path, n=120, shift=0.0, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1, n)
    pd.DataFrame({"x": x, "z": rng.normal(size=n), "y": np.where(x + rng.normal(0, .5, n) > shift, "a", "b")}) \
        .to_csv(path, index=False)


@pytest.fixture
def watcher(tmp_path):
    (tmp_path / "podium.yaml").write_text("executor: inline\nnotify: []\n")
    _write(tmp_path / "data.csv")
    w = Watcher(load_settings(tmp_path), quiet_seconds=0)
    w.datasets.add("sales", str(tmp_path / "data.csv"))
    w.pipelines.bind("churn", SPEC, dataset="sales")
    return w


def test_a_new_version_runs_its_pipeline_once(watcher, tmp_path):
    first = watcher.step()
    assert first.versions == ["sales:1"] and len(first.queued) == 1
    assert first.ran == [(first.queued[0], "registered")]
    again = watcher.step()
    assert again.versions == [] and again.queued == [] and again.ran == []
    restarted = Watcher(watcher.settings, quiet_seconds=0)  # a new process sees the same registry
    assert restarted.step().queued == []
    _write(tmp_path / "data.csv", n=150, seed=1)
    later = watcher.step()
    assert later.versions == ["sales:2"] and len(later.ran) == 1
    assert [j.trigger for j in watcher.pipelines.jobs()] == ["version:1", "version:2"]


def test_two_versions_arriving_together_are_both_processed_in_order(watcher, tmp_path):
    watcher.step(run=False)
    _write(tmp_path / "data.csv", n=130, seed=2)
    watcher.step(run=False)
    queued = watcher.pipelines.jobs(state="queued")
    assert [j.dataset_version for j in queued] == [1, 2]
    assert watcher.step().ran[0][0] == queued[0].id
    assert watcher.step().ran[0][0] == queued[1].id


def test_a_source_still_changing_is_not_snapshotted_until_quiet(tmp_path, watcher):
    slow = Watcher(watcher.settings, quiet_seconds=60)
    assert slow.step(run=False).versions == []  # first sight: wait for quiet
    _write(tmp_path / "data.csv", n=121)
    assert slow.step(run=False).versions == []  # still being written
    slow.quiet_seconds = 0
    assert slow.step(run=False).versions == ["sales:1"]


def _lapse(store, job_id):
    """The job's watcher is gone: its lease ended a minute ago."""
    with store._write() as conn:
        conn.execute(update(jobs_table).where(jobs_table.c.id == job_id).values(
            lease_until=datetime.now(timezone.utc) - timedelta(minutes=1)))


def test_a_restart_settles_jobs_left_running(watcher):
    watcher.step(run=False)
    job = watcher.pipelines.claim(ELSEWHERE)  # the watcher was killed here, before any run began
    _lapse(watcher.pipelines, job.id)
    fresh = Watcher(watcher.settings, quiet_seconds=0)
    log = fresh.step()
    assert log.ran == [(job.id, "registered")]
    assert fresh.pipelines.job(job.id).attempts == 2
    assert [v.version for v in fresh.registry.list_versions("churn")] == [1]


def test_a_job_under_a_live_lease_is_left_to_its_owner(watcher):
    watcher.step(run=False)
    job = watcher.pipelines.claim(ELSEWHERE, lease_seconds=600)  # a watcher on another machine runs it
    fresh = Watcher(watcher.settings, quiet_seconds=0)
    assert fresh.step().ran == [] and fresh.recover() == []
    assert fresh.pipelines.job(job.id).owner == ELSEWHERE
    assert fresh.pipelines.claim(fresh.owner) is None  # one job of a pipeline at a time
    _lapse(watcher.pipelines, job.id)
    assert fresh.step().ran == [(job.id, "registered")]


def test_a_claim_is_won_by_one_watcher_only(watcher):
    watcher.step(run=False)
    first = watcher.pipelines.claim("a")
    assert first is not None and first.owner == "a" and first.state == "running"
    assert watcher.pipelines.claim("b") is None
    assert watcher.pipelines.renew(first.id, "a") and not watcher.pipelines.renew(first.id, "b")
    assert not watcher.pipelines.finish(first.id, owner="b")
    assert watcher.pipelines.job(first.id).state == "running"


def test_a_lapsed_job_is_taken_back_by_one_watcher_only(watcher):
    watcher.step(run=False)
    job = watcher.pipelines.claim(ELSEWHERE)
    _lapse(watcher.pipelines, job.id)
    lapsed = watcher.pipelines.lapsed()
    assert [j.id for j in lapsed] == [job.id]
    assert watcher.pipelines.take_over(lapsed[0], "a")
    assert not watcher.pipelines.take_over(lapsed[0], "b")  # read before a took it
    assert watcher.pipelines.lapsed() == []


def test_a_lease_of_a_dead_local_process_has_lapsed(watcher):
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead = new_owner().split(":")[0] + f":{child.pid}:token"
    assert not owner_alive(dead) and owner_alive(new_owner()) and owner_alive(ELSEWHERE)
    watcher.step(run=False)
    job = watcher.pipelines.claim(dead, lease_seconds=600)
    assert [j.id for j in watcher.pipelines.lapsed()] == [job.id]


def test_a_restart_after_registration_does_not_train_twice(watcher):
    watcher.step()
    job = watcher.pipelines.jobs()[0]
    store = PipelineStore(watcher.registry)
    # killed after registering, before marking the job done
    store._set(job.id, None, state="running", owner=ELSEWHERE)
    _lapse(store, job.id)
    fresh = Watcher(watcher.settings, quiet_seconds=0)
    assert fresh.step().ran == []
    assert fresh.pipelines.job(job.id).state == "done"
    assert [v.version for v in fresh.registry.list_versions("churn")] == [1]


def test_rebinding_to_another_dataset_runs_its_versions(watcher, tmp_path):
    watcher.step()
    _write(tmp_path / "other.csv", n=140, seed=5)
    watcher.datasets.add("regions", str(tmp_path / "other.csv"))
    watcher.pipelines.bind("churn", SPEC, dataset="regions")
    log = watcher.step()
    assert log.versions == ["regions:1"] and len(log.ran) == 1 and log.ran[0][1] in ("registered", "not_promoted")
    assert [(j.dataset, j.trigger) for j in watcher.pipelines.jobs()] == [("sales", "version:1"),
                                                                          ("regions", "version:1")]


def test_a_failing_source_is_retried_later_and_others_carry_on(watcher, tmp_path):
    _write(tmp_path / "broken.csv", n=130, seed=6)
    watcher.datasets.add("broken", str(tmp_path / "broken.csv"))
    watcher.pipelines.bind("other", {**SPEC, "name": "other"}, dataset="broken")
    (tmp_path / "broken.csv").unlink()
    now = [0.0]
    watcher.backoff = Backoff(base=1.0, clock=lambda: now[0])
    log = watcher.step()
    assert log.versions == ["sales:1"] and log.ran == [(log.queued[0], "registered")]
    assert len(log.errors) == 1 and log.errors[0].startswith("dataset broken:")
    assert watcher.step().errors == []  # waiting out its delay, not failing again
    now[0] = 1.5
    assert len(watcher.step().errors) == 1  # tried again: still failing, now for 2 s
    now[0] = 3.0
    assert watcher.step().errors == []
    _write(tmp_path / "broken.csv", n=130, seed=6)
    now[0] = 3.6
    assert watcher.step().versions == ["broken:1"]


def test_backoff_doubles_up_to_its_cap_and_clears_on_success():
    now = [0.0]
    backoff = Backoff(base=1.0, cap=5.0, clock=lambda: now[0])
    assert [backoff.failed("db") for _ in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert not backoff.ready("db") and backoff.ready("other")
    backoff.succeeded("db")
    assert backoff.ready("db") and backoff.failed("db") == 1.0


def test_a_due_schedule_queues_a_run_on_the_latest_version(watcher):
    watcher.step()
    watcher.pipelines.bind("churn", SPEC, dataset="sales", schedule="* * * * *")
    store = watcher.pipelines
    with store._write() as conn:  # bound two minutes ago: a fire is due
        from sqlalchemy import update

        from podium.registry.pipelines import bindings_table
        conn.execute(update(bindings_table).values(bound_at=datetime.now(timezone.utc) - timedelta(minutes=2)))
    log = watcher.step(run=False)
    triggers = [j.trigger for j in store.jobs()]
    assert any(t.startswith("schedule:") for t in triggers) and len(log.queued) >= 1


def test_the_data_note_says_what_changed_since_the_previous_version(watcher, tmp_path):
    watcher.step(run=False)
    assert watcher._data_note("sales:1") == "sales:1 has 120 rows (its first version)."
    _write(tmp_path / "data.csv", n=300, shift=3.0, seed=4)
    watcher.step(run=False)
    note = watcher._data_note("sales:2")
    assert note.startswith("sales:2 has 300 rows (+180 since sales:1)")
    assert "drifted columns: x" in note


def test_the_watcher_outlives_a_database_outage(watcher, monkeypatch):
    import threading

    from sqlalchemy.exc import OperationalError

    real, calls = watcher.pipelines.bindings, []

    def flaky():  # the database is unreachable for the first three steps
        calls.append(1)
        if len(calls) <= 3:
            raise OperationalError("SELECT", {}, Exception("connection refused"))
        return real()

    monkeypatch.setattr(watcher.pipelines, "bindings", flaky)
    watcher.backoff = Backoff(base=0.01, cap=0.05)
    said, stop = [], threading.Event()
    watcher.say = said.append
    thread = threading.Thread(target=watcher.run_forever, kwargs={"interval": 0.01, "stop": stop})
    thread.start()
    try:
        deadline = datetime.now(timezone.utc) + timedelta(seconds=60)
        while not [j for j in watcher.pipelines.jobs() if j.state == "done"]:
            assert datetime.now(timezone.utc) < deadline, said
            stop.wait(0.05)
    finally:
        stop.set()
        thread.join(30)
    assert sum("connection refused" in s and "trying again" in s for s in said) == 3
    assert [v.version for v in watcher.registry.list_versions("churn")] == [1]


def test_a_failing_scheduled_snapshot_does_not_block_other_pipelines(watcher, tmp_path):
    watcher.step()  # sales:1 ran
    _write(tmp_path / "nightly.csv", n=130, seed=7)
    watcher.datasets.add("nightly", str(tmp_path / "nightly.csv"))
    watcher.pipelines.bind("nightly", {**SPEC, "name": "nightly"}, dataset="nightly", schedule="* * * * *")
    with watcher.pipelines._write() as conn:  # bound two minutes ago: a fire is due
        from podium.registry.pipelines import bindings_table
        conn.execute(update(bindings_table).where(bindings_table.c.pipeline == "nightly").values(
            bound_at=datetime.now(timezone.utc) - timedelta(minutes=2)))
    (tmp_path / "nightly.csv").write_text("not,a\n\"broken")  # its snapshot fails
    _write(tmp_path / "data.csv", n=150, seed=1)  # while sales has news
    log = watcher.step()
    assert any(e.startswith("schedule of nightly:") for e in log.errors)
    assert log.versions == ["sales:2"] and log.ran and log.ran[0][1] in ("registered", "not_promoted")
