import type { SpecEdge, SpecNode } from "../types";

/** What flows along an edge. */
export type PortType = "table" | "split" | "model" | "ranking" | "registered";

export interface Ports {
  in: PortType | null;
  out: PortType | null;
  /** Whether the input takes several edges (the competition takes every model). */
  many: boolean;
}

/** The typed ports of each node kind: dataset → steps → split → models → competition → gate → register. */
export const PORTS: Readonly<Record<string, Ports>> = {
  source: { in: null, out: "table", many: false },
  step: { in: "table", out: "table", many: false },
  split: { in: "table", out: "split", many: false },
  candidate: { in: "split", out: "model", many: false },
  competition: { in: "model", out: "ranking", many: true },
  gate: { in: "ranking", out: "ranking", many: false },
  register: { in: "ranking", out: "registered", many: true },
  notify: { in: "ranking", out: null, many: false },
};

export function portsOf(kind: string): Ports {
  return PORTS[kind] ?? { in: null, out: null, many: false };
}

/** True when `to` can be reached from `from` along the edges. */
export function reaches(edges: readonly SpecEdge[], from: string, to: string): boolean {
  const next = new Map<string, string[]>();
  for (const e of edges) next.set(e.source, [...(next.get(e.source) ?? []), e.target]);
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length > 0) {
    const id = stack.pop() as string;
    if (id === to) return true;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...(next.get(id) ?? []));
  }
  return false;
}

/** Why an edge source → target is refused, or null when it is allowed. */
export function connectionError(
  nodes: readonly SpecNode[],
  edges: readonly SpecEdge[],
  source: string,
  target: string,
): string | null {
  const from = nodes.find((n) => n.id === source);
  const to = nodes.find((n) => n.id === target);
  if (!from || !to) return "unknown node";
  if (source === target) return "a node cannot feed itself";
  const out = portsOf(from.type).out;
  const ports = portsOf(to.type);
  if (out === null) return `${from.type} has no output`;
  if (ports.in === null) return `${to.type} has no input`;
  if (out !== ports.in) return `${to.type} takes a ${ports.in}, not a ${out}`;
  if (edges.some((e) => e.source === source && e.target === target)) return "already connected";
  if (!ports.many && edges.some((e) => e.target === target)) return `${to.type} already has an input`;
  if (reaches(edges, target, source)) return "the connection would make a cycle";
  return null;
}
