import { describe, expect, it } from "vitest";
import type { SpecEdge, SpecNode } from "../types";
import { connectionError, reaches } from "./ports";

const node = (id: string, type: string): SpecNode => ({ id, type, data: {} });
const nodes = [
  node("source", "source"),
  node("step-0", "step"),
  node("step-1", "step"),
  node("split", "split"),
  node("candidate-0", "candidate"),
  node("candidate-1", "candidate"),
  node("competition", "competition"),
  node("gate", "gate"),
  node("register", "register"),
  node("notify-0", "notify"),
];

describe("connectionError", () => {
  it("allows the pipeline's typed chain", () => {
    const edges: SpecEdge[] = [];
    const chain: [string, string][] = [
      ["source", "step-0"],
      ["step-0", "split"],
      ["split", "candidate-0"],
      ["split", "candidate-1"],
      ["candidate-0", "competition"],
      ["candidate-1", "competition"],
      ["competition", "gate"],
      ["gate", "register"],
      ["gate", "notify-0"],
    ];
    for (const [s, t] of chain) {
      expect(connectionError(nodes, edges, s, t)).toBeNull();
      edges.push({ source: s, target: t });
    }
  });

  it("refuses a port of the wrong type, naming both types", () => {
    expect(connectionError(nodes, [], "source", "candidate-0")).toBe("candidate takes a split, not a table");
    expect(connectionError(nodes, [], "split", "gate")).toBe("gate takes a ranking, not a split");
  });

  it("refuses a cycle among steps", () => {
    const edges = [{ source: "step-0", target: "step-1" }];
    expect(connectionError(nodes, edges, "step-1", "step-0")).toBe("the connection would make a cycle");
  });

  it("refuses a self-loop, a second input, a duplicate, and nodes without the port", () => {
    expect(connectionError(nodes, [], "step-0", "step-0")).toBe("a node cannot feed itself");
    const edges = [{ source: "source", target: "step-0" }];
    expect(connectionError(nodes, edges, "step-1", "step-0")).toBe("step already has an input");
    expect(connectionError(nodes, [{ source: "candidate-0", target: "competition" }], "candidate-0", "competition")).toBe("already connected");
    expect(connectionError(nodes, [], "notify-0", "step-0")).toBe("notify has no output");
    expect(connectionError(nodes, [], "step-0", "source")).toBe("source has no input");
    expect(connectionError(nodes, [], "step-0", "missing")).toBe("unknown node");
  });
});

describe("reaches", () => {
  it("follows edges transitively and only forwards", () => {
    const edges = [
      { source: "a", target: "b" },
      { source: "b", target: "c" },
    ];
    expect(reaches(edges, "a", "c")).toBe(true);
    expect(reaches(edges, "c", "a")).toBe(false);
  });
});
