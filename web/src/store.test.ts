import { describe, expect, it } from "vitest";
import { useDesigner } from "./store";

describe("the designer store", () => {
  it("connects typed ports, refuses others, and undoes and redoes each edit", () => {
    const s = useDesigner.getState();
    const source = s.addNode("source", "csv");
    const step = s.addNode("step", "impute");
    const candidate = s.addNode("candidate", "logistic_regression");
    expect(s.connect(source, candidate)).toBe("candidate takes a split, not a table");
    expect(s.connect(source, step)).toBeNull();
    s.setData(step, { name: "impute", params: { strategy: "median" } });
    expect(useDesigner.getState().graph().edges).toEqual([{ id: `${source}->${step}`, source, target: step }]);

    useDesigner.getState().undo();
    expect(useDesigner.getState().nodes.find((n) => n.id === step)?.data).toEqual({ name: "impute", params: {} });
    useDesigner.getState().undo();
    expect(useDesigner.getState().edges).toEqual([]);
    useDesigner.getState().redo();
    useDesigner.getState().redo();
    const g = useDesigner.getState().graph();
    expect(g.edges).toHaveLength(1);
    expect(g.nodes.find((n) => n.id === step)?.data).toEqual({ name: "impute", params: { strategy: "median" } });
  });
});
