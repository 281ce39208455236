"""The web console in a real browser, against a real `podium console` over a project folder."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from playwright.sync_api import Page, expect

QUICKSTART_YAML = """\
name: churn
source: customers.csv
target: churned
steps:
  - {name: impute, params: {numeric: median}}
  - {name: one_hot}
split: {test_size: 0.25}
candidates: [logistic_regression, decision_tree]
metric: accuracy
budget: {trials: 2}
ensemble: false
gate: {min_score: 0.5}
register: {model: churn, alias: champion}
notify: [log]
"""


def open_designer(page: Page, url: str) -> None:
    """Open the designer once its palette is filled (the first catalog call imports every registry)."""
    page.goto(url + "/#/designer")
    expect(page.get_by_test_id("palette-step-impute")).to_be_visible(timeout=30_000)


def open_yaml(page: Page, url: str, text: str) -> None:
    """Open the designer and apply a hand-written spec YAML."""
    open_designer(page, url)
    page.get_by_label("YAML", exact=True).fill(text)
    page.get_by_role("button", name="Apply YAML").click()


def run_to_the_end(page: Page, url: str, text: str) -> None:
    """Run a spec from the designer and wait for its run page to say it registered a model."""
    open_yaml(page, url, text)
    expect(page.get_by_test_id("node-register")).to_be_visible()
    page.get_by_role("button", name="Run").click()
    expect(page).to_have_url(re.compile(r"#/runs/[^/]+$"))
    expect(page.get_by_test_id("run-status")).to_have_text(re.compile(r"^(succeeded|registered|not_promoted)$"), timeout=60_000)


def rewrite_csv(src: Path, dst: Path, change) -> None:  # noqa: ANN001  change(row) edits a row in place
    with src.open(newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        change(row)
    with dst.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_a_hand_written_yaml_opens_as_its_graph(page: Page, console: str, shots: Path) -> None:
    open_yaml(page, console, QUICKSTART_YAML)
    for node in ("source", "step-0", "step-1", "split", "candidate-0", "candidate-1", "competition", "gate", "register", "notify"):
        expect(page.get_by_test_id(f"node-{node}")).to_be_visible()
    expect(page.get_by_test_id("node-step-0")).to_contain_text("impute")
    expect(page.get_by_test_id("node-candidate-1")).to_contain_text("decision_tree")
    expect(page.locator(".react-flow__edge")).to_have_count(10)
    page.get_by_test_id("node-step-0").click()
    expect(page.get_by_label("numeric")).to_have_value("median")
    page.screenshot(path=shots / "designer.png")


def test_editing_a_form_changes_the_yaml(page: Page, console: str) -> None:
    open_yaml(page, console, QUICKSTART_YAML)
    page.get_by_test_id("node-split").click()
    field = page.get_by_label("test_size")
    expect(field).to_have_value("0.25")
    field.fill("0.3")
    field.press("Enter")
    yaml = page.get_by_label("YAML", exact=True)
    expect(yaml).to_have_value(re.compile(r"test_size: 0\.3\b"))
    # A step's parameter, from its catalog schema (a list of choices).
    page.get_by_test_id("node-step-0").click()
    page.get_by_label("numeric").select_option("mean")
    expect(yaml).to_have_value(re.compile(r"numeric: mean"))
    # Undo brings the earlier value back, in the form and the YAML.
    page.get_by_role("button", name="Undo").click()
    expect(yaml).to_have_value(re.compile(r"numeric: median"))
    expect(page.get_by_label("numeric")).to_have_value("median")
    # A value of the wrong type is refused with a message, and the YAML keeps the last good one.
    page.get_by_test_id("node-split").click()
    page.get_by_label("test_size").fill("lots")
    page.get_by_label("test_size").press("Enter")
    expect(page.get_by_text('"lots" is not a number')).to_be_visible()
    expect(yaml).to_have_value(re.compile(r"test_size: 0\.3\b"))


def test_an_invalid_pipeline_shows_its_error_on_the_node_and_is_not_run(page: Page, console: str) -> None:
    bad = QUICKSTART_YAML.replace("{numeric: median}", "{numeric: median, bogus: 1}")
    open_yaml(page, console, bad)
    expect(page.get_by_test_id("node-step-0")).to_be_visible()
    page.get_by_role("button", name="Run").click()
    error = page.get_by_test_id("node-step-0").get_by_role("alert")
    expect(error).to_contain_text("bogus")
    expect(page.get_by_test_id("node-source").get_by_role("alert")).to_have_count(0)
    expect(page.get_by_role("status")).to_have_text("Fix the marked nodes before running.")
    expect(page).to_have_url(re.compile(r"#/designer$"))


def test_wrong_connections_are_refused(page: Page, console: str) -> None:
    open_designer(page, console)
    canvas = page.get_by_test_id("canvas")
    page.get_by_test_id("palette-source-csv").drag_to(canvas, target_position={"x": 120, "y": 150})
    page.get_by_test_id("palette-candidate-lightgbm").drag_to(canvas, target_position={"x": 520, "y": 150})
    page.get_by_test_id("palette-step-impute").drag_to(canvas, target_position={"x": 320, "y": 350})
    source, model, step = (page.get_by_test_id(f"node-{i}") for i in ("source", "candidate-0", "step-0"))
    for node in (source, model, step):
        expect(node).to_be_visible()

    def connect(a, b) -> None:  # noqa: ANN001  drag from a's output handle to b's input handle
        a.locator(".react-flow__handle.source").hover()
        page.mouse.down()
        b.locator(".react-flow__handle.target").hover()
        page.mouse.up()

    connect(source, model)  # a table cannot feed a model: that needs the split
    expect(page.locator(".react-flow__edge")).to_have_count(0)
    connect(source, step)
    expect(page.locator(".react-flow__edge")).to_have_count(1)
    connect(step, step)
    expect(page.locator(".react-flow__edge")).to_have_count(1)


def test_the_quickstart_runs_and_shows_its_leaderboard(page: Page, console: str, shots: Path) -> None:
    open_yaml(page, console, QUICKSTART_YAML)
    expect(page.get_by_test_id("node-register")).to_be_visible()
    page.get_by_role("button", name="Run").click()
    expect(page).to_have_url(re.compile(r"#/runs/[^/]+$"))
    expect(page.get_by_test_id("run-status")).to_have_text(re.compile(r"^(succeeded|registered)$"), timeout=60_000)
    board = page.get_by_role("table", name="Leaderboard")
    expect(board.locator("tbody tr")).to_have_count(2)
    expect(board).to_contain_text("logistic_regression")
    expect(page.get_by_role("list", name="Run events")).to_contain_text("end")
    expect(page.get_by_role("region", name="Progress")).to_contain_text("best so far")
    expect(page.get_by_role("img", name="accuracy against fit time").locator("circle")).to_have_count(2)
    page.screenshot(path=shots / "run.png", full_page=True)

    page.get_by_role("link", name="Models").click()
    expect(page.get_by_role("region", name="model churn")).to_be_visible()
    page.screenshot(path=shots / "models.png")
    page.get_by_role("link", name="v1").click()
    page.get_by_label("alias").fill("staging")
    page.get_by_role("button", name="Promote…").click()
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status")).to_have_text("churn@staging is v1.")
    page.screenshot(path=shots / "model-version.png")


def test_upload_a_dataset_version(page: Page, console: str, project: Path, shots: Path) -> None:
    page.goto(console + "/#/datasets")
    page.get_by_label("dataset name").fill("customers")
    page.get_by_label("CSV or Parquet file").set_input_files(project / "customers.csv")
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("status")).to_have_text("customers.csv uploaded as a new version of customers.")
    expect(page.get_by_role("table", name="Datasets")).to_contain_text("customers")
    page.screenshot(path=shots / "datasets.png")
    page.get_by_role("link", name="Events").click()
    expect(page.get_by_role("heading", name="Events")).to_be_visible()
    page.screenshot(path=shots / "events.png")


def test_a_page_without_a_session_shows_the_sign_in_form(page: Page, secured: tuple[str, str], shots: Path) -> None:
    url, key = secured
    page.goto(url + "/#/models")
    expect(page.get_by_role("heading", name="Sign in to podium")).to_be_visible()
    page.screenshot(path=shots / "sign-in.png")
    page.get_by_label("API key").fill("pdm_not-a-real-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Models")).to_be_visible()
    # State-changing calls carry the session's CSRF token: the YAML panel converts through POST.
    open_yaml(page, url, QUICKSTART_YAML)
    expect(page.get_by_test_id("node-register")).to_be_visible()
    page.get_by_role("button", name="Save").click()  # the typed client (client.ts) sends the token too
    expect(page.get_by_role("status")).to_contain_text("Saved churn as version 1.")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to podium")).to_be_visible()


def test_the_pre_flight_plan_warns_about_a_leaking_column(page: Page, console: str, project: Path) -> None:
    rewrite_csv(project / "customers.csv", project / "leaky.csv", lambda r: r.update(exit_reason=r["churned"] + "-x"))
    open_yaml(page, console, QUICKSTART_YAML.replace("source: customers.csv", "source: leaky.csv"))
    page.get_by_role("button", name="Pre-flight").click()
    warnings = page.get_by_role("list", name="Pre-flight warnings")
    expect(warnings).to_contain_text("exit_reason", timeout=30_000)
    expect(warnings).to_contain_text("leakage")
    expect(page.get_by_role("table", name="Pre-flight steps")).to_contain_text("1200")


def test_the_champion_diff_shows_a_changed_parameter(page: Page, console: str, shots: Path) -> None:
    first = QUICKSTART_YAML.replace("register: {model: churn,", "register: {model: churn_diff,")
    run_to_the_end(page, console, first)
    run_to_the_end(page, console, first.replace("split: {test_size: 0.25}", "split: {test_size: 0.3}"))
    page.get_by_role("link", name="Models").click()
    form = page.get_by_role("form", name="compare versions of churn_diff")
    expect(form.get_by_label("from version")).to_have_value("1")
    expect(form.get_by_label("to version")).to_have_value("2")
    form.get_by_role("button", name="Compare").click()
    spec = page.get_by_role("region", name="Spec (layout ignored)")
    expect(spec).to_contain_text("test_size")
    expect(spec).to_contain_text("0.3")
    page.screenshot(path=shots / "diff.png", full_page=True)


def test_an_uploaded_version_shows_its_drift(page: Page, console: str, project: Path, shots: Path) -> None:
    def pricier(row: dict[str, str]) -> None:
        if row["monthly_fee"]:  # some fees are missing
            row["monthly_fee"] = str(float(row["monthly_fee"]) * 3 + 100)

    rewrite_csv(project / "customers.csv", project / "customers_v2.csv", pricier)
    page.goto(console + "/#/datasets")
    for f in ("customers.csv", "customers_v2.csv"):
        page.get_by_label("dataset name").fill("drifty")
        page.get_by_label("CSV or Parquet file").set_input_files(project / f)
        page.get_by_role("button", name="Upload").click()
        expect(page.get_by_role("status")).to_have_text(f"{f} uploaded as a new version of drifty.")
    page.get_by_role("link", name="drifty v2").click()
    expect(page.get_by_role("region", name="Drift").get_by_role("status")).to_contain_text("monthly_fee")
    page.screenshot(path=shots / "dataset-version.png")


def test_build_the_quickstart_from_an_empty_canvas_and_run_it(page: Page, console: str, shots: Path) -> None:
    open_designer(page, console)
    canvas = page.get_by_test_id("canvas")
    # A 3×3 grid of drops, clear of the zoom controls and the minimap.
    drops = [("source-csv", 20, 40), ("step-impute", 260, 40), ("step-one_hot", 500, 40),
             ("split-split", 20, 180), ("candidate-decision_tree", 260, 180), ("competition-competition", 500, 180),
             ("gate-gate", 20, 320), ("register-register", 260, 320)]
    for item, x, y in drops:
        page.get_by_test_id(f"palette-{item}").drag_to(canvas, target_position={"x": x, "y": y})
    ids = ["source", "step-0", "step-1", "split", "candidate-0", "competition", "gate", "register"]
    for node_id in ids:
        expect(page.get_by_test_id(f"node-{node_id}")).to_be_visible()

    def node(node_id: str):  # noqa: ANN202
        return page.get_by_test_id(f"node-{node_id}")

    for n, (a, b) in enumerate(zip(ids, ids[1:]), start=1):
        node(a).locator(".react-flow__handle.source").hover()
        page.mouse.down()
        node(b).locator(".react-flow__handle.target").hover()
        page.mouse.up()
        expect(page.locator(".react-flow__edge")).to_have_count(n)

    def fill(node_id: str, field: str, value: str) -> None:
        node(node_id).click()
        box = page.get_by_label(field, exact=True)
        box.fill(value)
        box.press("Enter")

    fill("source", "source", "customers.csv")
    fill("source", "target", "churned")
    fill("competition", "budget", '{"trials": 1}')
    page.get_by_label("metric").select_option("accuracy")
    fill("gate", "min_score", "0.5")
    fill("register", "register", '{"model": "churn_canvas"}')
    yaml = page.get_by_label("YAML", exact=True)
    expect(yaml).to_have_value(re.compile(r"model: churn_canvas"))
    expect(yaml).to_have_value(re.compile(r"- name: one_hot"))
    page.screenshot(path=shots / "designer-built.png")
    page.get_by_role("button", name="Run").click()
    expect(page).to_have_url(re.compile(r"#/runs/[^/]+$"))
    expect(page.get_by_test_id("run-status")).to_have_text(re.compile(r"^(succeeded|registered)$"), timeout=60_000)
    expect(page.get_by_role("table", name="Leaderboard")).to_contain_text("decision_tree")


def test_nodes_are_added_and_connected_by_keyboard(page: Page, console: str) -> None:
    open_designer(page, console)
    page.get_by_test_id("palette-source-csv").focus()
    page.keyboard.press("Enter")
    page.get_by_label("Search the catalog").fill("impute")
    page.get_by_test_id("palette-step-impute").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("node-step-0")).to_be_visible()
    page.locator('.react-flow__node[data-id="source"]').focus()  # nodes take the focus (Tab)
    page.keyboard.press("Enter")  # selects the node: its form opens
    target = page.get_by_label("connect to")
    expect(target).to_have_value("step-0")  # the only node that takes a table
    target.focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator(".react-flow__edge")).to_have_count(1)
    page.get_by_role("button", name="disconnect step-0").press("Enter")
    expect(page.locator(".react-flow__edge")).to_have_count(0)
