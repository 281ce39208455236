import type { Json, JsonObject, JsonSchema } from "../types";

/** The field a form draws for a schema: its input kind and, for lists, the choices. */
export type FieldKind = "enum" | "boolean" | "integer" | "number" | "string" | "json";

/** The schema with `anyOf: [X, null]` (pydantic's Optional) unwrapped to X. */
export function unwrap(schema: JsonSchema): JsonSchema {
  const options = schema.anyOf?.filter((s) => s.type !== "null");
  if (options && options.length === 1 && options[0]) return { ...options[0], ...schema, anyOf: undefined, type: options[0].type };
  return schema;
}

export function fieldKind(schema: JsonSchema): FieldKind {
  const s = unwrap(schema);
  if (s.enum) return "enum";
  const t = Array.isArray(s.type) ? s.type.find((x) => x !== "null") : s.type;
  if (t === "boolean" || t === "integer" || t === "number" || t === "string") return t;
  return "json";
}

/** A schema inferred from the values, for nodes the catalog does not describe. */
export function inferSchema(params: JsonObject): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const [k, v] of Object.entries(params)) {
    if (typeof v === "boolean") properties[k] = { type: "boolean" };
    else if (typeof v === "number") properties[k] = { type: Number.isInteger(v) ? "integer" : "number" };
    else if (typeof v === "string") properties[k] = { type: "string" };
    else properties[k] = {};
  }
  return { type: "object", properties };
}

/** The text an input shows for a value. */
export function display(value: Json | undefined, kind: FieldKind): string {
  if (value === undefined || value === null) return "";
  if (kind === "json") return JSON.stringify(value);
  return String(value);
}

/** The value typed text stands for, undefined for an empty field (the parameter takes its default). */
export function parse(text: string, kind: FieldKind): Json | undefined {
  const t = text.trim();
  if (t === "") return undefined;
  if (kind === "integer" || kind === "number") {
    const n = Number(t);
    if (Number.isNaN(n)) throw new Error(`"${t}" is not a number`);
    if (kind === "integer" && !Number.isInteger(n)) throw new Error(`"${t}" is not a whole number`);
    return n;
  }
  if (kind === "json") {
    // A field of no fixed type: JSON when it reads as JSON, else the text itself (a file path).
    try {
      return JSON.parse(t) as Json;
    } catch {
      return t;
    }
  }
  return text;
}

/** params with key set to value, or without key when value is undefined. */
export function withParam(params: JsonObject, key: string, value: Json | undefined): JsonObject {
  const next = Object.fromEntries(Object.entries(params).filter(([k]) => k !== key));
  if (value !== undefined) next[key] = value;
  return next;
}
