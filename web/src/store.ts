import { applyEdgeChanges, applyNodeChanges, type Edge, type EdgeChange, type NodeChange } from "@xyflow/react";
import { create } from "zustand";
import type { JsonObject, Position, SpecGraph } from "./types";
import { edgeId, fromFlow, initialData, newNodeId, toFlow, type PodiumNode } from "./graph/convert";
import { autoLayout } from "./graph/layout";
import { connectionError } from "./graph/ports";

interface Snapshot {
  nodes: PodiumNode[];
  edges: Edge[];
}

/** The designer's one store: the canvas, the selection, the server's verdicts, and undo as a first-class operation. */
export interface DesignerState {
  nodes: PodiumNode[];
  edges: Edge[];
  past: Snapshot[];
  future: Snapshot[];
  selected: string | null;
  /** Validation messages by node id; "" holds those that name no node. */
  errors: Record<string, string[]>;
  /** Bumped on every change of the graph (not of the selection): the YAML panel follows it. */
  revision: number;
  /** Bumped when a whole graph is loaded: the canvas zooms to fit it. */
  loaded: number;
  /** True while the graph was just set from the YAML panel, so the panel keeps the user's text. */
  fromYaml: boolean;
  setGraph: (graph: SpecGraph, fromYaml?: boolean) => void;
  graph: () => SpecGraph;
  onNodesChange: (changes: NodeChange<PodiumNode>[]) => void;
  onEdgesChange: (changes: EdgeChange[]) => void;
  connect: (source: string, target: string) => string | null;
  addNode: (kind: string, name: string, position?: Position) => string;
  /** Replace a node's spec fields. */
  setData: (id: string, data: JsonObject) => void;
  select: (id: string | null) => void;
  setErrors: (errors: Record<string, string[]>) => void;
  tidy: () => void;
  undo: () => void;
  redo: () => void;
}

const LIMIT = 100;

export const useDesigner = create<DesignerState>((set, get) => {
  /** Apply a change worth undoing: remember the state before it. */
  const commit = (next: Snapshot): void => {
    const { nodes, edges, past, revision } = get();
    set({
      ...next,
      past: [...past, { nodes, edges }].slice(-LIMIT),
      future: [],
      revision: revision + 1,
      fromYaml: false,
    });
  };
  return {
    nodes: [],
    edges: [],
    past: [],
    future: [],
    selected: null,
    errors: {},
    revision: 0,
    loaded: 0,
    fromYaml: false,
    setGraph: (graph, fromYaml = false) => {
      commit(toFlow(graph));
      set({ errors: {}, selected: null, fromYaml, loaded: get().loaded + 1 });
    },
    graph: () => fromFlow(get().nodes, get().edges),
    onNodesChange: (changes) => {
      const { nodes, edges } = get();
      const next = applyNodeChanges(changes, nodes);
      // Moves end with dragging=false; selection and measuring are not edits.
      const edit = changes.some((c) => c.type === "remove" || c.type === "add" || (c.type === "position" && c.dragging === false));
      if (edit) {
        const ids = new Set(next.map((n) => n.id));
        commit({ nodes: next, edges: edges.filter((e) => ids.has(e.source) && ids.has(e.target)) });
      } else set({ nodes: next });
    },
    onEdgesChange: (changes) => {
      const next = applyEdgeChanges(changes, get().edges);
      if (changes.some((c) => c.type === "remove")) commit({ nodes: get().nodes, edges: next });
      else set({ edges: next });
    },
    connect: (source, target) => {
      const { nodes, edges } = get();
      const graph = fromFlow(nodes, edges);
      const refused = connectionError(graph.nodes, graph.edges, source, target);
      if (refused === null) commit({ nodes, edges: [...edges, { id: edgeId(source, target), source, target }] });
      return refused;
    },
    addNode: (kind, name, position) => {
      const { nodes, edges } = get();
      const id = newNodeId(kind, nodes.map((n) => n.id));
      const at = position ?? { x: 40 + (nodes.length % 5) * 40, y: 40 + nodes.length * 20 };
      commit({ nodes: [...nodes, { id, type: kind, position: at, data: initialData(kind, name) }], edges });
      set({ selected: id });
      return id;
    },
    setData: (id, data) => {
      const { nodes, edges } = get();
      commit({ nodes: nodes.map((n) => (n.id === id ? { ...n, data } : n)), edges });
    },
    select: (id) => set({ selected: id }),
    setErrors: (errors) => set({ errors }),
    tidy: () => {
      const { nodes, edges } = get();
      const g = fromFlow(nodes, edges);
      const at = autoLayout(g.nodes, g.edges);
      commit({ nodes: nodes.map((n) => ({ ...n, position: at[n.id] ?? n.position })), edges });
    },
    undo: () => {
      const { past, future, nodes, edges, revision } = get();
      const prev = past[past.length - 1];
      if (!prev) return;
      set({ ...prev, past: past.slice(0, -1), future: [{ nodes, edges }, ...future], revision: revision + 1, fromYaml: false });
    },
    redo: () => {
      const { past, future, nodes, edges, revision } = get();
      const next = future[0];
      if (!next) return;
      set({ ...next, past: [...past, { nodes, edges }], future: future.slice(1), revision: revision + 1, fromYaml: false });
    },
  };
});
