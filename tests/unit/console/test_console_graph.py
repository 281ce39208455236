"""The designer's graph ⇄ spec conversion: lossless over every spec the project shows."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from podium.console.graph import GraphError, graph_to_data, graph_to_yaml, node_for_location, yaml_to_graph
from podium.console.specs import validate
from podium.spec import parse_spec

ROOT = Path(__file__).resolve().parents[3]


def _written_specs() -> list[tuple[str, str]]:
    """Every spec in examples/, docs/ and the README: YAML blocks that parse as a spec (a block
    showing only some keys, e.g. ``steps:``, gets a source and a target)."""
    found = [(str(p.relative_to(ROOT)), p.read_text()) for p in sorted((ROOT / "examples").rglob("*.yaml"))]
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for i, block in enumerate(re.findall(r"```ya?ml\n(.*?)```", doc.read_text(), flags=re.S)):
            try:
                data = yaml.safe_load(block)
            except yaml.YAMLError:
                continue
            if not isinstance(data, dict):
                continue
            if "source" not in data and "target" not in data:
                block = f"source: data.csv\ntarget: y\n{block}"
            try:
                parse_spec(yaml.safe_load(block))
            except (ValueError, TypeError):
                continue
            found.append((f"{doc.relative_to(ROOT)}#{i}", block))
    return found


SPECS = _written_specs()


def test_the_project_shows_specs_to_convert() -> None:
    assert len(SPECS) >= 3


@pytest.mark.parametrize("text", [t for _, t in SPECS], ids=[n for n, _ in SPECS])
def test_yaml_to_graph_to_yaml_gives_an_equal_spec(text: str) -> None:
    original = parse_spec(yaml.safe_load(text))
    graph = yaml_to_graph(text)
    again = yaml.safe_load(graph_to_yaml(graph))
    assert parse_spec(again) == original
    assert yaml_to_graph(graph_to_yaml(graph))["nodes"] == graph["nodes"]  # stable on a second trip


QUICK = """name: churn
source: customers.csv
target: churned
steps:
  - drop_columns: [customer_id]
  - impute: {numeric: median}
candidates: [logistic_regression, random_forest]
metric: accuracy
budget: {trials: 2}
gate: {min_score: 0.7}
register: {model: churn}
notify: [log]
layout:
  source: {x: 0, y: 0}
  step-0: {x: 0, y: 100}
"""


def test_the_graph_has_a_node_per_part_joined_in_pipeline_order() -> None:
    graph = yaml_to_graph(QUICK)
    ids = [n["id"] for n in graph["nodes"]]
    assert ids == ["source", "step-0", "step-1", "split", "candidate-0", "candidate-1", "competition", "gate",
                   "register", "notify"]
    pairs = {(e["source"], e["target"]) for e in graph["edges"]}
    assert {("source", "step-0"), ("step-0", "step-1"), ("step-1", "split"), ("split", "candidate-0"),
            ("split", "candidate-1"), ("candidate-0", "competition"), ("candidate-1", "competition"),
            ("competition", "gate"), ("gate", "register"), ("gate", "notify")} == pairs
    assert graph["nodes"][1]["data"] == {"name": "drop_columns", "params": {"columns": ["customer_id"]}}
    assert graph["nodes"][6]["data"] == {"metric": "accuracy", "budget": {"trials": 2}}
    assert graph["layout"] == {"source": {"x": 0, "y": 0}, "step-0": {"x": 0, "y": 100}}


def test_layout_round_trips_and_the_runner_ignores_it() -> None:
    graph = yaml_to_graph(QUICK)
    graph["layout"]["gate"] = {"x": 5, "y": 6}
    data = yaml.safe_load(graph_to_yaml(graph))
    assert data["layout"]["gate"] == {"x": 5, "y": 6}
    assert parse_spec(data) == parse_spec(yaml.safe_load(QUICK))


def test_steps_follow_the_edges_not_the_node_order() -> None:
    graph = yaml_to_graph(QUICK)
    graph["nodes"][1], graph["nodes"][2] = graph["nodes"][2], graph["nodes"][1]
    assert [s["name"] for s in graph_to_data(graph)["steps"]] == ["drop_columns", "impute"]
    graph["edges"] = [e for e in graph["edges"] if e["target"] != "step-1"]  # step-1 cut out of the chain
    with pytest.raises(GraphError, match="not connected on towards the split") as caught:
        graph_to_data(graph)
    assert caught.value.node == "step-0"


def test_a_cycle_is_refused_with_its_node() -> None:
    graph = yaml_to_graph(QUICK)
    graph["edges"].append({"id": "back", "source": "step-1", "target": "step-0"})
    with pytest.raises(GraphError, match="cycle"):
        graph_to_data(graph)


def test_a_graph_without_candidates_names_the_split() -> None:
    graph = yaml_to_graph(QUICK)
    graph["nodes"] = [n for n in graph["nodes"] if n["type"] != "candidate"]
    graph["edges"] = [e for e in graph["edges"] if "candidate" not in e["source"] + e["target"]]
    with pytest.raises(GraphError, match="at least one candidate") as caught:
        graph_to_data(graph)
    assert caught.value.node == "split"


def test_no_steps_and_default_steps_stay_different() -> None:
    none = "source: a.csv\ntarget: y\nsteps: []\n"
    default = "source: a.csv\ntarget: y\n"
    assert parse_spec(yaml.safe_load(graph_to_yaml(yaml_to_graph(none)))).steps == []
    assert parse_spec(yaml.safe_load(graph_to_yaml(yaml_to_graph(default)))).steps is None


def _errors(body: dict[str, Any]) -> list[dict[str, str]]:
    answer = validate(body)
    assert answer["ok"] is not bool(answer["errors"])
    return list(answer["errors"])


def test_validate_locates_the_clis_messages_on_nodes() -> None:
    assert _errors({"yaml": QUICK}) == []
    bad_param = QUICK.replace("numeric: median", "numeric: nope")
    (error,) = _errors({"yaml": bad_param})
    assert error["node"] == "step-1" and "numeric" in error["message"]
    (error,) = _errors({"yaml": QUICK.replace("random_forest]", "random_forrest]")})
    assert error["node"] == "candidate-1"
    assert "'random_forrest' is not a candidate" in error["message"] and "random_forest" in error["message"]
    (error,) = _errors({"yaml": QUICK.replace("gate: {min_score: 0.7}", "gate: {min_scor: 0.7}")})
    assert error == {"node": "gate", "message": "spec: 'gate.min_scor': unknown key."}
    (error,) = _errors({"yaml": QUICK.replace("target: churned\n", "")})
    assert error == {"node": "source", "message": "spec: 'target': required key is missing."}
    (error,) = _errors({"yaml": "source: [unclosed"})
    assert "is not valid YAML" in error["message"]


def test_validate_takes_a_graph_too() -> None:
    graph = yaml_to_graph(QUICK)
    graph["nodes"][2]["data"]["name"] = "imput"
    graph["nodes"][1], graph["nodes"][2] = graph["nodes"][2], graph["nodes"][1]  # node order is not step order
    (error,) = _errors(graph)
    assert error["node"] == "step-1" and "'imput' is not a step" in error["message"]


def test_location_of_top_level_keys() -> None:
    assert node_for_location("spec: 'budget.trials': bad.") == "competition"
    assert node_for_location("spec: 'register.model': bad.") == "register"
    assert node_for_location("spec: 'split.test_size': bad.") == "split"
