"""The watcher: versions → jobs exactly once, in order, debounced, resumed after a crash."""

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from podium.automation.watch import Watcher
from podium.config import load_settings
from podium.registry.pipelines import PipelineStore

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


def test_a_restart_settles_jobs_left_running(watcher):
    watcher.step(run=False)
    job = watcher.pipelines.jobs(state="queued")[0]
    watcher.pipelines.start(job.id)  # the watcher was killed here, before any run began
    fresh = Watcher(watcher.settings, quiet_seconds=0)
    log = fresh.step()
    assert log.ran == [(job.id, "registered")]
    assert [v.version for v in fresh.registry.list_versions("churn")] == [1]


def test_a_restart_after_registration_does_not_train_twice(watcher):
    watcher.step()
    job = watcher.pipelines.jobs()[0]
    store = PipelineStore(watcher.registry)
    store._set(job.id, state="running")  # killed after registering, before marking the job done
    fresh = Watcher(watcher.settings, quiet_seconds=0)
    assert fresh.step().ran == []
    assert fresh.pipelines.job(job.id).state == "done"
    assert [v.version for v in fresh.registry.list_versions("churn")] == [1]


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
