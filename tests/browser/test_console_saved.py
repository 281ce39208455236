"""Saved pipelines, bindings, column pickers and deploy downloads in a real browser."""

from __future__ import annotations

import re
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from playwright.sync_api import Page, expect
from .conftest import PODIUM, _free_port
from .test_console import QUICKSTART_YAML, open_yaml

SAVED_YAML = QUICKSTART_YAML.replace("name: churn", "name: saved_churn").replace(
    "{model: churn, alias: champion}", "{model: saved_churn, alias: champion}").replace(
    "  - {name: one_hot}\n", "  - {name: one_hot}\n  - {name: drop_columns, params: {columns: [customer_id]}}\n")


def test_save_bind_run_and_download_a_designed_pipeline(page: Page, console: str, project: Path,
                                                       shots: Path) -> None:
    upload = page.request.post(console + "/api/datasets/saved_customers/versions",
                               data=(project / "customers.csv").read_bytes(), headers={"Content-Type": "text/csv"})
    assert upload.status == 201, upload.text()
    open_yaml(page, console, SAVED_YAML)
    expect(page.get_by_test_id("node-register")).to_be_visible()
    status = page.get_by_role("status")
    page.get_by_role("button", name="Save").click()
    expect(status).to_contain_text("Saved saved_churn as version 1.")
    page.get_by_role("button", name="Save").click()
    expect(status).to_contain_text("saved_churn v1 already holds this pipeline")
    page.get_by_test_id("node-split").click()
    page.get_by_label("test_size").fill("0.3")
    page.get_by_label("test_size").press("Enter")
    expect(page.get_by_label("YAML", exact=True)).to_have_value(re.compile(r"test_size: 0\.3\b"))
    page.get_by_role("button", name="Save").click()
    expect(status).to_contain_text("Saved saved_churn as version 2.")

    page.get_by_role("link", name="Bind it to a dataset…").click()
    expect(page.get_by_role("heading", name=re.compile("Pipeline saved_churn"))).to_be_visible()
    expect(page.get_by_role("table", name="Pipeline versions").locator("tbody tr")).to_have_count(2)
    page.get_by_label("dataset", exact=True).select_option("saved_customers")
    page.get_by_label("schedule").fill("every night")
    page.get_by_role("button", name="Bind").click()
    expect(page.get_by_role("alert")).to_have_text(re.compile("'every night' is not a cron expression"))
    page.get_by_label("schedule").fill("0 3 * * *")
    page.get_by_role("button", name="Bind").click()
    expect(page.get_by_role("status")).to_have_text(
        "saved_churn runs on each new version of saved_customers and on '0 3 * * *'.")
    expect(page.get_by_role("heading", name=re.compile("bound to saved_customers"))).to_be_visible()
    page.screenshot(path=shots / "pipeline.png")
    page.get_by_role("link", name="Pipelines", exact=True).click()
    expect(page.get_by_role("table", name="Pipelines")).to_contain_text("saved_customers")

    # The first version opens in the designer as it was saved.
    page.goto(console + "/#/pipelines/saved_churn")
    page.get_by_role("table", name="Pipeline versions").get_by_role("link", name="1", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Opened saved_churn v1.")
    expect(page.get_by_label("YAML", exact=True)).to_have_value(re.compile(r"test_size: 0\.25\b"))

    # Run it now (on the dataset's latest version), then download the registered version's Docker context.
    page.goto(console + "/#/pipelines/saved_churn")
    page.get_by_role("button", name="Run now").click()
    expect(page).to_have_url(re.compile(r"#/runs/[^/]+$"))
    expect(page.get_by_test_id("run-status")).to_have_text("registered", timeout=60_000)
    page.goto(console + "/#/models/saved_churn/versions/1")
    with page.expect_download() as download:
        page.get_by_role("link", name="Docker context (.zip)").click()
    assert download.value.suggested_filename == "saved_churn-1-docker.zip"
    page.get_by_role("button", name="Compute feature importance").click()
    importance = page.get_by_role("table", name="Feature importance")
    expect(importance).to_contain_text("tenure_months", timeout=30_000)
    expect(importance).not_to_contain_text("customer_id")  # dropped by the pipeline: not an input
    page.screenshot(path=shots / "model-version.png")
    _its_service_is_listed_as_an_endpoint(page, console, project, shots)


def _its_service_is_listed_as_an_endpoint(page: Page, console: str, project: Path, shots: Path) -> None:
    """A real `podium serve` of the version registers itself: the endpoints page shows it ready, with
    the curl and Python calls of its model."""
    port = _free_port()
    service = subprocess.Popen([*PODIUM, "serve", "saved_churn@champion", "--port", str(port), "--workers", "1",
                                "--no-auth"], cwd=project, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:  # polling for the service to answer, not a synchronisation by time
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2).close()
                break
            except (urllib.error.URLError, ConnectionError):
                assert service.poll() is None and time.monotonic() < deadline, "podium serve did not start"
                time.sleep(0.2)
        page.goto(console + "/#/endpoints")
        row = page.get_by_role("row").filter(has_text=f"http://127.0.0.1:{port}").first
        expect(row).to_contain_text("saved_churn@champion → v1", timeout=20_000)
        expect(row.get_by_text("ready", exact=True)).to_be_visible()
        page.get_by_text("Use it: try it, curl and Python").first.click()
        page.get_by_role("button", name="Send").first.click()  # the example record, through the console
        expect(page.get_by_label("answer of saved_churn").first).to_contain_text('"prediction"')
        expect(page.get_by_label("answer of saved_churn").first).to_contain_text("HTTP 200")
        curl = page.get_by_label("curl for saved_churn").first
        expect(curl).to_contain_text(f"http://127.0.0.1:{port}/v1/models/saved_churn/predict")
        expect(curl).not_to_contain_text("Authorization")  # --no-auth: no key to send
        page.screenshot(path=shots / "endpoints.png")
    finally:
        service.terminate()
        service.wait(timeout=30)


def test_column_parameters_are_picked_from_the_sources_columns(page: Page, console: str, shots: Path) -> None:
    open_yaml(page, console, SAVED_YAML)
    page.get_by_test_id("node-source").click()
    target = page.get_by_label("target", exact=True)
    expect(target.locator("option", has_text="region (categorical)")).to_have_count(1)
    expect(target).to_have_value("churned")
    page.get_by_test_id("node-step-2").click()
    columns = page.get_by_role("group", name="columns")
    expect(columns.get_by_role("checkbox", name="customer_id")).to_be_checked()
    columns.get_by_role("checkbox", name="region").check()
    expect(page.get_by_label("YAML", exact=True)).to_have_value(re.compile(r"columns:\s*\n\s*- customer_id\s*\n\s*- region"))
    page.screenshot(path=shots / "columns.png")


def test_the_endpoints_page_says_how_to_start_a_service(page: Page, secured: tuple[str, str]) -> None:
    url, key = secured  # a project no test serves from (the other console's stopped services stay listed a day)
    page.goto(url + "/#/endpoints")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("No running service is known")).to_be_visible()
