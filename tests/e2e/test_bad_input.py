"""Every bad input gets one clear line on stderr and exit code 2 — never a traceback."""

import pytest

pytestmark = pytest.mark.e2e


def _one_line(result, pattern):
    assert result.code == 2, (result.code, result.err)
    lines = [line for line in result.err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    assert "Traceback" not in result.err
    assert pattern in lines[0], lines[0]


@pytest.mark.parametrize("args,pattern", [
    (("--data", "missing.csv", "--target", "y"), "does not exist"),
    (("--data", "ftp2://host/x", "--target", "y"), "ftp2"),
    (("--data", "customers.csv", "--target", "churn"), "Did you mean 'churned'"),
    (("--data", "customers.csv", "--target", "churned", "--metric", "rmse"), "does not apply"),
    (("--data", "customers.csv", "--target", "churned", "--metric", "acuracy"), "Did you mean 'accuracy'"),
    (("--data", "customers.csv", "--target", "churned", "--candidates", "lightgmb"), "Did you mean 'lightgbm'"),
    (("--data", "customers.csv", "--target", "churned", "--task", "regression"), "not numeric"),
    (("--data", "postgresql://nobody@127.0.0.1:1/db?table=t", "--target", "y"), "Cannot connect"),
])
def test_bad_run_input(podium, args, pattern):
    _one_line(podium("run", *args), pattern)


def test_single_class_and_empty_targets(podium, project):
    (project / "one.csv").write_text("a,y\n" + "".join(f"{i},same\n" for i in range(30)))
    _one_line(podium("run", "--data", "one.csv", "--target", "y"), "single class")
    (project / "empty.csv").write_text("a,y\n")
    _one_line(podium("run", "--data", "empty.csv", "--target", "y"), "no rows")
    (project / "nulls.csv").write_text("a,y\n" + "".join(f"{i},\n" for i in range(30)))
    _one_line(podium("run", "--data", "nulls.csv", "--target", "y"), "has no values")


def test_bad_spec_files(podium, project):
    (project / "bad.yaml").write_text("source: customers.csv\ntarget: churned\nsteps:\n  - one_hott: {}\n")
    _one_line(podium("run", "bad.yaml"), "Did you mean 'one_hot'")
    (project / "bad2.yaml").write_text("source: customers.csv\ntarget: churned\nsplit: {test_size: 3}\n")
    _one_line(podium("run", "bad2.yaml"), "split.test_size")
    (project / "bad3.yaml").write_text("source: [unclosed\n")
    _one_line(podium("run", "bad3.yaml"), "not valid YAML")
    _one_line(podium("run", "nope.yaml"), "does not exist")


def test_predict_with_an_unknown_model(podium):
    """(A wrong schema for a model that exists: tests/e2e/test_quickstart.py, on the model it trains.)"""
    _one_line(podium("predict", "nothing@champion", "-i", "new_customers.csv", "-o", "x.csv"), "nothing")


def predict_with_a_wrong_schema(podium, project, ref):
    """A missing column: one line, nothing written; an unseen category and an extra column: scored, with a note."""
    (project / "partial.csv").write_text("plan,region\npro,north\n")
    _one_line(podium("predict", ref, "-i", "partial.csv", "-o", "x.csv"), "tenure_months")
    assert not (project / "x.csv").exists()
    (project / "unseen.csv").write_text(
        "plan,region,tenure_months,monthly_fee,support_tickets,signup_date,extra\n"
        "platinum,mars,3,99.5,2,2023-01-02,1\n")
    scored = podium("predict", ref, "-i", "unseen.csv", "-o", "y.csv")
    assert scored.code == 0, scored.err
    assert "extra" in scored.err  # ignored with a note
    assert (project / "y.csv").exists()
