import type { Json } from "../types";

/** A number as people read it: integers whole, others to four significant digits. */
export function formatNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toPrecision(4);
}

/** Any JSON value as nested definition lists: for the API's figures whose fields vary. */
export function DataView({ value }: { value: Json | undefined }) {
  if (value === undefined || value === null) return <span className="muted">—</span>;
  if (typeof value === "number") return <span>{formatNumber(value)}</span>;
  if (typeof value !== "object") return <span>{String(value)}</span>;
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v !== "object" || v === null)) {
      return <span>{value.map((v) => (typeof v === "number" ? formatNumber(v) : String(v))).join(", ")}</span>;
    }
    return (
      <ol>
        {value.map((v, i) => (
          <li key={i}>
            <DataView value={v} />
          </li>
        ))}
      </ol>
    );
  }
  return (
    <dl className="data">
      {Object.entries(value).map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>
            <DataView value={v} />
          </dd>
        </div>
      ))}
    </dl>
  );
}
