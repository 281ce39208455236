import { useState } from "react";
import type { Json, JsonObject } from "../types";
import { DataView } from "./DataView";

interface Props {
  rows: JsonObject[];
  columns?: string[];
  label: string;
  link?: (row: JsonObject) => string | null;
}

function compare(a: Json | undefined, b: Json | undefined): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a ?? "").localeCompare(String(b ?? ""));
}

/** A table of records, sortable by clicking a column's header. */
export function Table({ rows, columns, label, link }: Props) {
  const cols = columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const [sort, setSort] = useState<{ col: string; desc: boolean } | null>(null);
  const shown = sort ? [...rows].sort((a, b) => compare(a[sort.col], b[sort.col]) * (sort.desc ? -1 : 1)) : rows;
  if (rows.length === 0) return <p className="empty">Nothing yet.</p>;
  return (
    <table aria-label={label}>
      <thead>
        <tr>
          {cols.map((c) => (
            <th key={c} aria-sort={sort?.col === c ? (sort.desc ? "descending" : "ascending") : undefined}>
              <button type="button" onClick={() => setSort({ col: c, desc: sort?.col === c ? !sort.desc : false })}>
                {c}
              </button>
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {shown.map((r, i) => {
          const href = link?.(r);
          return (
            <tr key={i}>
              {cols.map((c, j) => (
                <td key={c}>{href && j === 0 ? <a href={href}><DataView value={r[c]} /></a> : <DataView value={r[c]} />}</td>
              ))}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
