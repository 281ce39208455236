import { describe, expect, it } from "vitest";
import { display, fieldKind, inferSchema, parse, unwrap, withParam } from "./schema";

describe("schema fields", () => {
  it("reads pydantic's Optional and enums", () => {
    expect(fieldKind({ anyOf: [{ type: "number" }, { type: "null" }] })).toBe("number");
    expect(unwrap({ anyOf: [{ type: "string" }, { type: "null" }], description: "d" }).description).toBe("d");
    expect(fieldKind({ enum: ["mean", "median"], type: "string" })).toBe("enum");
    expect(fieldKind({ type: "array", items: { type: "string" } })).toBe("json");
  });

  it("parses typed text and refuses what is not of the type", () => {
    expect(parse("0.3", "number")).toBeCloseTo(0.3, 12);
    expect(parse("  ", "number")).toBeUndefined();
    expect(() => parse("abc", "number")).toThrow('"abc" is not a number');
    expect(() => parse("2.5", "integer")).toThrow("not a whole number");
    expect(parse('["a", "b"]', "json")).toEqual(["a", "b"]);
    expect(parse('{"trials": 2}', "json")).toEqual({ trials: 2 });
    expect(parse("customers.csv", "json")).toBe("customers.csv");
    expect(display(["a"], "json")).toBe('["a"]');
  });

  it("infers a schema from values and sets or drops a parameter", () => {
    expect(inferSchema({ a: 1, b: 0.5, c: true, d: "x" }).properties).toEqual({
      a: { type: "integer" },
      b: { type: "number" },
      c: { type: "boolean" },
      d: { type: "string" },
    });
    expect(withParam({ a: 1, b: 2 }, "a", undefined)).toEqual({ b: 2 });
    expect(withParam({ b: 2 }, "a", 3)).toEqual({ b: 2, a: 3 });
  });
});
