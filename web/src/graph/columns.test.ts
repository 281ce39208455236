import { describe, expect, it } from "vitest";
import { columnField } from "./columns";

describe("columnField", () => {
  it("takes a list of columns from a step's optional array parameter", () => {
    const optional = { anyOf: [{ type: "array", items: { type: "string" } }, { type: "null" }], default: null };
    expect(columnField("columns", optional)).toBe("many");
    expect(columnField("subset", optional)).toBe("many");
    expect(columnField("columns", { type: "array", items: { type: "string" } })).toBe("many");
  });
  it("takes one column for the target and the time column", () => {
    expect(columnField("target", { type: "string" })).toBe("one");
    expect(columnField("time_column", { type: "string" })).toBe("one");
  });
  it("leaves other parameters alone", () => {
    expect(columnField("parts", { type: "array", items: { enum: ["year"], type: "string" } })).toBeNull();
    expect(columnField("method", { type: "string", enum: ["standard"] })).toBeNull();
    expect(columnField("test_size", { type: "number" })).toBeNull();
    expect(columnField("columns", { type: "integer" })).toBeNull();
  });
});
