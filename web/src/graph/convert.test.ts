import { describe, expect, it } from "vitest";
import type { SpecGraph } from "../types";
import { fromFlow, initialData, labelOf, newNodeId, toFlow } from "./convert";

const graph: SpecGraph = {
  nodes: [
    { id: "source", type: "source", data: { source: "customers.csv", target: "churned" } },
    { id: "step-0", type: "step", data: { name: "impute", params: { strategy: "median" } } },
    { id: "split", type: "split", data: { test_size: 0.25 } },
  ],
  edges: [
    { id: "source->step-0", source: "source", target: "step-0" },
    { id: "step-0->split", source: "step-0", target: "split" },
  ],
};

describe("toFlow / fromFlow", () => {
  it("round-trips nodes, edges and data; positions land in the layout block", () => {
    const { nodes, edges } = toFlow(graph);
    const back = fromFlow(nodes, edges);
    expect(back.nodes).toEqual(graph.nodes);
    expect(back.edges).toEqual(graph.edges);
    expect(Object.keys(back.layout ?? {}).sort()).toEqual(["source", "split", "step-0"]);
  });

  it("lays out left to right when the graph has no layout", () => {
    const { nodes } = toFlow(graph);
    const x = (id: string) => nodes.find((n) => n.id === id)?.position.x ?? NaN;
    expect(x("source")).toBeLessThan(x("step-0"));
    expect(x("step-0")).toBeLessThan(x("split"));
  });

  it("keeps the positions of a complete layout block, and lays out all when one is missing", () => {
    const layout = { source: { x: 5, y: 6 }, "step-0": { x: 300, y: 6 }, split: { x: 600, y: 6 } };
    expect(toFlow({ ...graph, layout }).nodes.map((n) => n.position)).toEqual([layout.source, layout["step-0"], layout.split]);
    const partial = toFlow({ ...graph, layout: { source: { x: 999, y: 999 } } });
    expect(partial.nodes[0]?.position).not.toEqual({ x: 999, y: 999 });
  });
});

describe("new nodes", () => {
  it("single kinds take their kind as id while free, others kind-N one past the largest", () => {
    expect(newNodeId("split", [])).toBe("split");
    expect(newNodeId("split", ["split"])).toBe("split-0");
    expect(newNodeId("step", [])).toBe("step-0");
    expect(newNodeId("step", ["step-0", "step-4", "candidate-9"])).toBe("step-5");
  });

  it("start with the spec fields of their kind and show their name", () => {
    expect(initialData("step", "impute")).toEqual({ name: "impute", params: {} });
    expect(initialData("candidate", "lightgbm")).toEqual({ name: "lightgbm" });
    expect(initialData("notify", "log")).toEqual({ notifiers: ["log"] });
    expect(initialData("source", "csv")).toEqual({ source: "data.csv", target: "" });
    expect(initialData("source", "postgres")).toEqual({ source: { kind: "postgres" }, target: "" });
    expect(labelOf("step", { name: "impute", params: {} })).toBe("impute");
    expect(labelOf("source", { source: "customers.csv" })).toBe("customers.csv");
    expect(labelOf("notify", { notifiers: ["log", { kind: "webhook" }] })).toBe("log, webhook");
    expect(labelOf("gate", { min_score: 0.7 })).toBe("gate");
  });
});
