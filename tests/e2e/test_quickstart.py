import json

import pandas as pd
import pytest
from test_bad_input import predict_with_a_wrong_schema

pytestmark = pytest.mark.e2e


def test_run_then_predict_then_inspect(podium, project):
    ran = podium("run", "--data", "customers.csv", "--target", "churned", "--metric", "accuracy",
                 "--min-score", "0.6", "--trials", "6", "--seed", "3", "--json")
    assert ran.code == 0, ran.err
    result = ran.json()
    assert result["status"] == "registered" and result["task"] == "binary"
    assert result["model"] == {"name": "customers", "version": 1, "alias": "champion"}
    board = result["leaderboard"]
    assert len([r for r in board if r["candidate"] != "ensemble"]) == 6 and board[0]["rank"] == 1
    assert {"candidate", "score", "fit_seconds", "predict_ms_per_1000", "size_bytes", "status"} <= set(board[0])
    assert result["gate"]["passed"] and result["gate"]["threshold"] == 0.6
    assert result["columns"]["customer_id"] == "id"
    assert any("customer_id" in note for note in result["notes"])

    scored = podium("predict", "customers@champion", "--input", "new_customers.csv", "--output", "scored.csv")
    assert scored.code == 0, scored.err
    out = pd.read_csv(project / "scored.csv")
    source = pd.read_csv(project / "new_customers.csv")
    assert len(out) == len(source)
    assert {"prediction", "proba_no", "proba_yes"} <= set(out.columns)
    assert set(out["prediction"]) <= {"yes", "no"}
    assert ((out["proba_no"] + out["proba_yes"]) - 1).abs().max() < 1e-6
    predict_with_a_wrong_schema(podium, project, "customers")

    listed = podium("models", "list", "--json")
    assert listed.code == 0 and "customers" in listed.out
    shown = podium("models", "show", "customers:1")
    assert shown.code == 0 and "tenure_months" in shown.out
    runs = podium("runs", "list")
    assert runs.code == 0 and result["run_id"][:8] in runs.out
    show_run = podium("runs", "show", result["run_id"][:8])
    assert show_run.code == 0 and board[0]["candidate"] in show_run.out


def test_a_trial_budget_with_a_seed_is_reproducible_and_replayable(podium):
    args = ("run", "--data", "customers.csv", "--target", "churned", "--trials", "4", "--seed", "5",
            "--candidates", "logistic_regression,decision_tree", "--json")
    first, second = podium(*args).json(), podium(*args).json()
    assert [(r["candidate"], r["score"]) for r in first["leaderboard"]] == \
        [(r["candidate"], r["score"]) for r in second["leaderboard"]]
    assert second["model"]["version"] == 2
    replayed = podium("runs", "replay", first["run_id"], "--json")
    assert replayed.code == 0, replayed.err
    assert [(r["candidate"], r["score"]) for r in replayed.json()["leaderboard"]] == \
        [(r["candidate"], r["score"]) for r in first["leaderboard"]]


def test_the_spec_file_form(podium, project):
    (project / "pipeline.yaml").write_text(
        "name: churn\nsource: customers.csv\ntarget: churned\n"
        "steps:\n  - drop_columns: [customer_id, signup_date]\n  - impute: {numeric: median}\n"
        "  - one_hot: {max_categories: 5}\n  - scale: {method: robust}\n"
        "candidates: [logistic_regression, knn]\nbudget: {trials: 3}\n"
        "register: {model: churn-model}\n")
    ran = podium("run", "pipeline.yaml", "--json")
    assert ran.code == 0, ran.err
    assert ran.json()["model"]["name"] == "churn-model"
    assert {r["candidate"] for r in ran.json()["leaderboard"]} <= {"logistic_regression", "knn", "ensemble"}


def test_champion_challenger_then_promote_and_rollback_by_hand(podium, project):
    base = ("run", "--data", "customers.csv", "--target", "churned", "--name", "churn", "--seed", "1", "--json")
    first = podium(*base, "--trials", "3", "--candidates", "lightgbm,logistic_regression")
    assert first.code == 0, first.err
    # a weak challenger (one shallow tree) must not replace the champion
    weak = podium(*base, "--trials", "1", "--candidates", "decision_tree")
    result = weak.json()
    assert weak.code == 3 and result["status"] == "not_promoted"
    assert result["model"]["version"] == 2 and result["promotion"]["champion"] is not None
    assert "worse than the champion" in result["promotion"]["message"]
    assert result["promotion"]["basis"] == "holdout scores on the same data"
    shown = json.loads(podium("models", "list", "--json").out)
    assert shown[0]["aliases"] == {"champion": 1}
    assert podium("models", "promote", "churn:2").code == 0
    assert podium("predict", "churn@champion", "-i", "new_customers.csv", "-o", "a.csv").code == 0
    rolled = podium("models", "rollback", "churn")
    assert rolled.code == 0 and "2 → 1" in rolled.out


def test_the_terminal_shows_every_note_of_the_run_once(podium):
    whole = podium("run", "--data", "customers.csv", "--target", "churned", "--trials", "2", "--seed", "3")
    assert whole.code == 0, whole.err
    notes = [line for line in whole.out.splitlines() if line.startswith("note:")]
    assert any("customer_id" in note for note in notes)  # the data's, printed with its columns
    assert len(notes) == len(set(notes))  # and not again with the run's
    drawn = podium("run", "--data", "customers.csv", "--target", "churned", "--trials", "2", "--seed", "3",
                   "--max-rows", "600", "--name", "drawn")
    assert drawn.code == 0, drawn.err
    lines = drawn.out.splitlines()
    said = [i for i, line in enumerate(lines) if line.startswith("note: trained on 600 of the source's 1,200 rows")]
    board = next(i for i, line in enumerate(lines) if line.startswith("Leaderboard"))
    assert len(said) == 1 and said[0] < board  # how the competition ran, above its leaderboard
    assert "note: dropped 'customer_id': id-like (unique per row)" in lines  # a key of the rows drawn too
