import type { Json, JsonObject } from "./types";

/** The records of a list answer: the array itself, or the first array field of an object ({"models": [...]}). */
export function listOf(data: Json | null | undefined): JsonObject[] {
  const isRecord = (v: Json): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);
  if (Array.isArray(data)) return data.map((v) => (isRecord(v) ? v : { value: v }));
  if (data && isRecord(data)) {
    const first = Object.values(data).find((v) => Array.isArray(v));
    if (Array.isArray(first)) return listOf(first);
  }
  return [];
}

/** The version numbers a model record lists, whichever way it spells them. */
export function versionsOf(model: JsonObject): string[] {
  const v = Array.isArray(model.versions_list) ? model.versions_list : model.versions;
  if (!Array.isArray(v)) {
    const latest = Number(model.latest_version);
    return Number.isInteger(latest) && latest > 0 ? Array.from({ length: latest }, (_, i) => String(i + 1)) : [];
  }
  return v.map((x) => (typeof x === "object" && x !== null && !Array.isArray(x) ? String(x.version ?? "") : String(x))).filter(Boolean);
}
