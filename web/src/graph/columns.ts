import type { JsonSchema } from "../types";
import { unwrap } from "./schema";

/** A column of the chosen source, as `POST /api/specs/columns` names it. */
export interface ColumnInfo {
  name: string;
  type: string;
}

/** Parameter names that hold column names: a step's `columns`/`subset`, the source's `target`, the split's `time_column`. */
const COLUMN_NAME = /^(columns?|subset|target|[a-z_]*_columns?)$/;

function typeOf(schema: JsonSchema): string | undefined {
  return Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
}

/**
 * How a field picks columns: "one" (a column name), "many" (a list of them), or null (not a column field).
 * Decided by the parameter's name and its schema's type (a list of strings, or a string).
 */
export function columnField(name: string, schema: JsonSchema): "one" | "many" | null {
  if (!COLUMN_NAME.test(name)) return null;
  const s = unwrap(schema);
  const options = s.anyOf?.filter((o) => o.type !== "null") ?? [s];
  for (const o of options) {
    const t = typeOf(o);
    if (t === "array" && (o.items === undefined || typeOf(o.items) === "string")) return "many";
    if (t === "string" && o.enum === undefined) return "one";
  }
  return null;
}
