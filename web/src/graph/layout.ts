import dagre from "@dagrejs/dagre";
import type { Position, SpecEdge, SpecNode } from "../types";

export const NODE_WIDTH = 180;
export const NODE_HEIGHT = 64;

/** Left-to-right positions for every node (dagre), top-left corners as the canvas wants them. */
export function autoLayout(nodes: readonly SpecNode[], edges: readonly SpecEdge[]): Record<string, Position> {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 20, ranksep: 40 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of nodes) g.setNode(n.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const e of edges) if (g.hasNode(e.source) && g.hasNode(e.target)) g.setEdge(e.source, e.target);
  dagre.layout(g);
  const out: Record<string, Position> = {};
  for (const n of nodes) {
    const p = g.node(n.id);
    out[n.id] = { x: Math.round(p.x - NODE_WIDTH / 2), y: Math.round(p.y - NODE_HEIGHT / 2) };
  }
  return out;
}
