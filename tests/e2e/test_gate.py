"""A winner that misses the gate: exit 3, nothing promoted, the webhook is called."""

import json

import pytest

pytestmark = pytest.mark.e2e


def test_gate_failure_exits_3_and_calls_the_webhook(podium, project, webhook):
    url, received = webhook
    (project / "podium.yaml").write_text(f"notify: [log, {{webhook: '{url}'}}]\n")
    ran = podium("run", "--data", "customers.csv", "--target", "churned", "--min-score", "0.99",
                 "--trials", "3", "--candidates", "logistic_regression,decision_tree", "--json")
    assert ran.code == 3, ran.err
    result = ran.json()
    assert result["status"] == "gate_failed" and result["model"] is None
    assert not result["gate"]["passed"] and result["gate"]["threshold"] == 0.99
    assert [d["ok"] for d in result["notifications"]] == [True, True]
    assert len(received) == 1
    event = received[0]
    assert event["event"] == "gate_failed"
    assert event["payload"]["threshold"] == 0.99 and event["payload"]["run_id"] == result["run_id"]
    assert "logistic_regression" in event["text"]
    listed = podium("models", "list", "--json")
    assert listed.code == 0 and json.loads(listed.out) == []
    runs = podium("runs", "show", result["run_id"], "--json")
    assert json.loads(runs.out)["run"]["status"] == "gate_failed"
