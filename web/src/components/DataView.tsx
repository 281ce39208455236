import type { Json } from "../types";

/** Any JSON value as nested definition lists: for the API's figures whose fields vary. */
export function DataView({ value }: { value: Json | undefined }) {
  if (value === undefined || value === null) return <span className="muted">—</span>;
  if (typeof value === "number") return <span>{Number.isInteger(value) ? value : value.toPrecision(4)}</span>;
  if (typeof value !== "object") return <span>{String(value)}</span>;
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v !== "object" || v === null)) return <span>{value.map(String).join(", ")}</span>;
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
