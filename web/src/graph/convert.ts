import type { Edge, Node } from "@xyflow/react";
import type { JsonObject, Position, SpecGraph } from "../types";
import { autoLayout } from "./layout";

/** A canvas node is the server's node (`type` its kind, `data` its spec fields) with a position. */
export type PodiumNode = Node<JsonObject>;

/** Kinds a pipeline has at most one of: their node id is the kind itself, as the server names them. */
const SINGLE = new Set(["source", "split", "competition", "gate", "register", "notify"]);

/** The server's graph as canvas nodes and edges; positions from its layout block, else laid out. */
export function toFlow(graph: SpecGraph): { nodes: PodiumNode[]; edges: Edge[] } {
  const laid = graph.nodes.every((n) => graph.layout?.[n.id]) ? (graph.layout ?? {}) : autoLayout(graph.nodes, graph.edges);
  const nodes = graph.nodes.map<PodiumNode>((n) => ({ id: n.id, type: n.type, position: laid[n.id] ?? { x: 0, y: 0 }, data: n.data }));
  const edges = graph.edges.map<Edge>((e) => ({ id: edgeId(e.source, e.target), source: e.source, target: e.target }));
  return { nodes, edges };
}

/** The canvas as the server's graph; positions go to the layout block, which the runner ignores. */
export function fromFlow(nodes: readonly PodiumNode[], edges: readonly Edge[]): SpecGraph {
  const layout: Record<string, Position> = {};
  for (const n of nodes) layout[n.id] = { x: Math.round(n.position.x), y: Math.round(n.position.y) };
  return {
    nodes: nodes.map((n) => ({ id: n.id, type: n.type ?? "", data: n.data })),
    edges: edges.map((e) => ({ id: edgeId(e.source, e.target), source: e.source, target: e.target })),
    layout,
  };
}

export function edgeId(source: string, target: string): string {
  return `${source}->${target}`;
}

/** A fresh id for a new node of this kind: the kind itself for single kinds when free, else kind-N. */
export function newNodeId(kind: string, taken: readonly string[]): string {
  if (SINGLE.has(kind) && !taken.includes(kind)) return kind;
  let n = 0;
  for (const id of taken) {
    const m = new RegExp(`^${kind}-(\\d+)$`).exec(id);
    if (m) n = Math.max(n, Number(m[1]) + 1);
  }
  return `${kind}-${n}`;
}

const FILE_SOURCES = new Set(["csv", "parquet", "file", "json", "excel"]);

/** The spec fields a new node starts with, for a palette entry `name` of this kind. */
export function initialData(kind: string, name: string): JsonObject {
  switch (kind) {
    case "step":
      return { name, params: {} };
    case "candidate":
      return { name };
    case "notify":
      return { notifiers: [name] };
    case "source":
      return FILE_SOURCES.has(name) ? { source: `data.${name}`, target: "" } : { source: { kind: name }, target: "" };
    default:
      return {};
  }
}

/** The title a node shows: the step's or model's name, the source's file, the notifiers. */
export function labelOf(kind: string, data: JsonObject): string {
  const { name, source, notifiers } = data;
  if ((kind === "step" || kind === "candidate") && typeof name === "string") return name;
  if (kind === "source") return typeof source === "string" ? source : typeof name === "string" ? name : "source";
  if (kind === "notify" && Array.isArray(notifiers)) {
    return notifiers.map((x) => (typeof x === "string" ? x : x && typeof x === "object" && !Array.isArray(x) ? String(x.kind ?? "?") : "?")).join(", ");
  }
  return kind;
}
