import type { Json, JsonObject } from "../types";

/** An example record for a model's input schema (`input_schema.columns`): a value of each column's kind. */
export function exampleRecord(inputSchema: Json | undefined): JsonObject {
  const columns = inputSchema && typeof inputSchema === "object" && !Array.isArray(inputSchema) ? inputSchema.columns : undefined;
  const record: JsonObject = {};
  if (!Array.isArray(columns)) return record;
  for (const c of columns) {
    if (!c || typeof c !== "object" || Array.isArray(c) || typeof c.name !== "string") continue;
    const categories = Array.isArray(c.categories) ? c.categories : [];
    if (categories.length > 0 && categories[0] !== undefined) record[c.name] = categories[0];
    else if (c.kind === "numeric") record[c.name] = 0;
    else if (c.kind === "boolean") record[c.name] = false;
    else if (c.kind === "datetime") record[c.name] = "2024-01-01";
    else record[c.name] = "";
  }
  return record;
}

/** The curl and Python calls of one model's predict endpoint on a service. */
export function snippets(url: string, model: string, record: JsonObject, auth: boolean): { curl: string; python: string } {
  const endpoint = `${url}/v1/models/${model}/predict`;
  const body = JSON.stringify(record);
  const key = auth ? ' -H "Authorization: Bearer $PODIUM_KEY"' : "";
  const curl = `curl${key} -H "Content-Type: application/json" \\\n     -d '${body.replace(/'/g, "'\\''")}' \\\n     ${endpoint}`;
  const headers = auth ? `, headers={"Authorization": f"Bearer {os.environ['PODIUM_KEY']}"}` : "";
  const python = `${auth ? "import os\n" : ""}import httpx\n\nrecord = ${JSON.stringify(record, null, 1).replace(/\btrue\b/g, "True").replace(/\bfalse\b/g, "False").replace(/\bnull\b/g, "None")}\nanswer = httpx.post("${endpoint}", json=record${headers})\nprint(answer.json())`;
  return { curl, python };
}
