import { describe, expect, it } from "vitest";
import type { Json } from "../types";
import { exampleRecord, snippets } from "./snippets";

describe("endpoint snippets", () => {
  const schema: Json = {
    columns: [
      { name: "plan", kind: "categorical", categories: ["basic", "pro"] },
      { name: "tenure", kind: "numeric" },
      { name: "active", kind: "boolean" },
      { name: "signup", kind: "datetime" },
    ],
  };
  it("makes an example record of each column's kind", () => {
    expect(exampleRecord(schema)).toEqual({ plan: "basic", tenure: 0, active: false, signup: "2024-01-01" });
    expect(exampleRecord(undefined)).toEqual({});
  });
  it("writes curl and Python calls, with the key only when the service asks for one", () => {
    const s = snippets("http://h:8000", "churn", { plan: "it's", active: false }, true);
    expect(s.curl).toContain('-H "Authorization: Bearer $PODIUM_KEY"');
    expect(s.curl).toContain("http://h:8000/v1/models/churn/predict");
    expect(s.curl).toContain(`'{"plan":"it'\\''s","active":false}'`);
    expect(s.python).toContain('"active": False');
    expect(s.python).toContain("headers=");
    expect(snippets("http://h:8000", "churn", {}, false).curl).not.toContain("Authorization");
  });
});
