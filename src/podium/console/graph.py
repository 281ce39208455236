"""A pipeline spec as a graph of nodes and edges, and back, without losing anything.

source → steps in order → split → one node per candidate → competition → gate → register
(→ notify). Each node's ``data`` holds the spec fields it owns, as written; node positions
live in the spec's ``layout`` block, which the runner ignores. ``spec_to_graph`` then
``graph_to_spec`` gives a spec equal to the original.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from podium.errors import SpecError
from podium.spec import PipelineSpec, parse_spec

__all__ = ["GraphError", "graph_to_data", "graph_to_yaml", "node_for_location", "spec_to_graph",
           "yaml_to_data", "yaml_to_graph"]

#: which node owns each top-level spec key
_OWNER: dict[str, str] = {
    "name": "source", "source": "source", "target": "source", "task": "source", "forecast": "source",
    "split": "split", "device": "competition",
    "metric": "competition", "budget": "competition", "time_budget": "competition", "seed": "competition",
    "ensemble": "competition", "n_jobs": "competition", "constraints": "competition",
    "gate": "gate",
    "register": "register", "promotion": "register",
    "notify": "notify",
}
_COMPETITION_KEYS = ("metric", "budget", "seed", "ensemble", "n_jobs", "constraints", "device")
_ALL = "candidate-all"


class GraphError(SpecError):
    """A graph that is not a pipeline; ``node`` names the faulty node (or None)."""

    def __init__(self, message: str, node: str | None = None) -> None:
        super().__init__(message)
        self.node = node


def yaml_to_data(text: str, *, origin: str = "spec") -> dict[str, Any]:
    """The spec mapping written in ``text`` (a SpecError names the line of a YAML error)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise SpecError(f"{origin}:{where} is not valid YAML ({getattr(exc, 'problem', exc)}).") from None
    if not isinstance(data, dict):
        raise SpecError(f"{origin}: expected a mapping of pipeline fields, got {type(data).__name__}.")
    return data


def spec_to_graph(data: dict[str, Any], *, origin: str = "spec") -> dict[str, Any]:
    """``{"nodes", "edges", "layout"}`` for a spec mapping (validated first)."""
    fields = {k: v for k, v in data.items() if k != "layout"}
    spec = parse_spec(fields, origin=origin)
    written = spec.model_dump(mode="json", by_alias=True, exclude_unset=True)
    raw_layout = data.get("layout")
    layout: dict[str, Any] = raw_layout if isinstance(raw_layout, dict) else {}
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []

    def add(node_id: str, kind: str, node_data: dict[str, Any], after: list[str]) -> None:
        nodes.append({"id": node_id, "type": kind, "data": node_data})
        edges.extend({"id": f"{a}->{node_id}", "source": a, "target": node_id} for a in after)

    add("source", "source", {k: written[k] for k in ("name", "source", "target", "task", "forecast") if k in written}, [])
    previous = "source"
    for i, step in enumerate(spec.steps or []):
        add(f"step-{i}", "step", {"name": step.name, "params": step.params}, [previous])
        previous = f"step-{i}"
    split_data = dict(written.get("split", {}))
    if spec.steps is not None and not spec.steps:
        split_data["no_steps"] = True  # `steps: []` (no default steps) differs from no `steps` key
    add("split", "split", split_data, [previous])
    if spec.candidates == "all":
        add(_ALL, "candidate", {"name": "all"}, ["split"])
        candidate_ids = [_ALL]
    else:
        candidate_ids = [f"candidate-{i}" for i in range(len(spec.candidates))]
        for node_id, name in zip(candidate_ids, spec.candidates):
            add(node_id, "candidate", {"name": name}, ["split"])
    add("competition", "competition", {k: written[k] for k in _COMPETITION_KEYS if k in written}, candidate_ids)
    add("gate", "gate", dict(written.get("gate", {})), ["competition"])
    register: dict[str, Any] = {k: written[k] for k in ("register", "promotion") if k in written}
    add("register", "register", register, ["gate"])
    if spec.notify is not None:
        add("notify", "notify", {"notifiers": written["notify"]}, ["gate"])
    ids = {n["id"] for n in nodes}
    return {"nodes": nodes, "edges": edges,
            "layout": {k: v for k, v in layout.items() if k in ids}}


def yaml_to_graph(text: str, *, origin: str = "spec") -> dict[str, Any]:
    """The graph of a spec written in YAML."""
    return spec_to_graph(yaml_to_data(text, origin=origin), origin=origin)


def graph_to_data(graph: dict[str, Any]) -> dict[str, Any]:
    """The spec mapping a graph stands for, with its ``layout`` block (not validated as a spec).

    Raises GraphError (naming the node) for a graph that is no pipeline: a missing or doubled
    node, an unknown node type, a cycle, steps not chained between the source and the split.
    """
    nodes = graph.get("nodes")
    if not isinstance(nodes, list):
        raise GraphError("the graph has no 'nodes' list.")
    by_id: dict[str, dict[str, Any]] = {}
    by_type: dict[str, list[dict[str, Any]]] = {}
    for node in nodes:
        if not isinstance(node, dict) or not isinstance(node.get("id"), str):
            raise GraphError("every node needs an 'id' (a string).")
        kind = node.get("type")
        if kind not in ("source", "step", "split", "candidate", "competition", "gate", "register", "notify"):
            raise GraphError(f"node '{node['id']}' has an unknown type '{kind}'.", node["id"])
        if node["id"] in by_id:
            raise GraphError(f"two nodes have the id '{node['id']}'.", node["id"])
        by_id[node["id"]] = node
        by_type.setdefault(str(kind), []).append(node)
    for kind in ("source", "split", "competition", "gate", "register", "notify"):
        if len(by_type.get(kind, [])) > 1:
            raise GraphError(f"a pipeline has one {kind} node; this one has {len(by_type[kind])}.",
                             by_type[kind][1]["id"])
    for kind in ("source", "split", "competition"):
        if not by_type.get(kind):
            raise GraphError(f"the pipeline needs a {kind} node.")
    edges = graph.get("edges") or []
    following: dict[str, list[str]] = {}
    for edge in edges:
        if not isinstance(edge, dict) or edge.get("source") not in by_id or edge.get("target") not in by_id:
            raise GraphError(f"an edge joins nodes that do not exist: {edge!r}.")
        following.setdefault(edge["source"], []).append(edge["target"])
    _refuse_cycles(by_id, following)

    def data(node: dict[str, Any]) -> dict[str, Any]:
        value = node.get("data") or {}
        if not isinstance(value, dict):
            raise GraphError(f"node '{node['id']}': its data must be a mapping.", node["id"])
        return dict(value)

    spec: dict[str, Any] = {}
    spec.update(data(by_type["source"][0]))
    steps = _chained_steps(by_type, following)
    split = data(by_type["split"][0])
    no_steps = bool(split.pop("no_steps", False))
    if steps:
        spec["steps"] = [{"name": data(s).get("name"), "params": data(s).get("params") or {}} for s in steps]
    elif no_steps:
        spec["steps"] = []
    if split:
        spec["split"] = split
    names = [data(c).get("name") for c in by_type.get("candidate", [])]
    if not names:
        raise GraphError("connect at least one candidate (model family) to the split.", by_type["split"][0]["id"])
    spec["candidates"] = "all" if "all" in names else names
    spec.update(data(by_type["competition"][0]))
    if by_type.get("gate"):
        gate = data(by_type["gate"][0])
        if gate:
            spec["gate"] = gate
    if by_type.get("register"):
        spec.update(data(by_type["register"][0]))
    if by_type.get("notify"):
        spec["notify"] = data(by_type["notify"][0]).get("notifiers") or []
    layout = graph.get("layout")
    if isinstance(layout, dict) and layout:
        spec["layout"] = {k: v for k, v in layout.items() if k in by_id}
    return spec


def graph_to_yaml(graph: dict[str, Any]) -> str:
    """The spec YAML a graph stands for, ``layout`` block last."""
    data = graph_to_data(graph)
    layout = data.pop("layout", None)
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    if layout:
        text += "# node positions for the console; podium run ignores this block\n"
        text += yaml.safe_dump({"layout": layout}, sort_keys=False)
    return text


def graph_steps(graph: dict[str, Any]) -> list[dict[str, Any]]:
    """The step nodes of a graph in the order its edges chain them (as graph_to_data reads them)."""
    by_type: dict[str, list[dict[str, Any]]] = {}
    for node in graph.get("nodes", []):
        if isinstance(node, dict):
            by_type.setdefault(str(node.get("type")), []).append(node)
    if not by_type.get("source") or not by_type.get("split"):
        raise GraphError("the pipeline needs a source and a split node.")
    following: dict[str, list[str]] = {}
    for edge in graph.get("edges") or []:
        if isinstance(edge, dict):
            following.setdefault(str(edge.get("source")), []).append(str(edge.get("target")))
    return _chained_steps(by_type, following)


def _chained_steps(by_type: dict[str, list[dict[str, Any]]],
                   following: dict[str, list[str]]) -> list[dict[str, Any]]:
    """The step nodes in the order the edges chain them from the source to the split."""
    steps = {n["id"]: n for n in by_type.get("step", [])}
    if not steps:
        return []
    ordered: list[dict[str, Any]] = []
    current = by_type["source"][0]["id"]
    split_id = by_type["split"][0]["id"]
    while True:
        nxt = [t for t in following.get(current, []) if t in steps or t == split_id]
        if not nxt:
            raise GraphError(f"node '{current}' is not connected on towards the split.", current)
        if len(nxt) > 1:
            raise GraphError(f"node '{current}' feeds several steps; steps form one chain.", current)
        if nxt[0] == split_id:
            break
        ordered.append(steps[nxt[0]])
        current = nxt[0]
    left = [s for s in steps if s not in {o["id"] for o in ordered}]
    if left:
        raise GraphError(f"step node '{left[0]}' is not on the chain from the source to the split.", left[0])
    return ordered


def _refuse_cycles(by_id: dict[str, dict[str, Any]], following: dict[str, list[str]]) -> None:
    state: dict[str, int] = {}

    def visit(node: str) -> None:
        state[node] = 1
        for nxt in following.get(node, []):
            if state.get(nxt) == 1:
                raise GraphError(f"the edges form a cycle through node '{nxt}'.", nxt)
            if nxt not in state:
                visit(nxt)
        state[node] = 2

    for node in by_id:
        if node not in state:
            visit(node)


_LOCATED = re.compile(r"'([^']*)': ")


def node_for_location(message: str, graph: dict[str, Any] | None = None) -> str:
    """The node id a spec error message (``spec: 'steps.0.params': ...``) is about."""
    found = _LOCATED.search(message)
    if not found:
        return "source"
    parts = found.group(1).split(".")
    head = parts[0]
    if head == "steps" and len(parts) > 1 and parts[1].isdigit():
        return _nth(graph, "step", int(parts[1])) or f"step-{parts[1]}"
    if head == "candidates":
        if len(parts) > 1 and parts[1].isdigit():
            return _nth(graph, "candidate", int(parts[1])) or f"candidate-{parts[1]}"
        return "split"
    owner = _OWNER.get(head, "source")
    return _nth(graph, owner, 0) or owner


def _nth(graph: dict[str, Any] | None, kind: str, index: int) -> str | None:
    if graph is None:
        return None
    matching = [n["id"] for n in graph.get("nodes", []) if isinstance(n, dict) and n.get("type") == kind]
    if kind == "step":  # steps are numbered in the order the edges chain them
        try:
            matching = [n["id"] for n in graph_steps(graph)]
        except GraphError:
            pass
    return matching[index] if index < len(matching) else None


def equal_specs(a: PipelineSpec, b: PipelineSpec) -> bool:
    """Whether two specs ask for the same pipeline."""
    return a.model_dump(mode="json", by_alias=True) == b.model_dump(mode="json", by_alias=True)
