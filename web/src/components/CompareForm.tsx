import { useState } from "react";
import { navigate } from "../router";

/** Pick two versions of a model and open their diff. */
export function CompareForm({ name, versions }: { name: string; versions: string[] }) {
  const [a, setA] = useState(versions[versions.length - 2] ?? "");
  const [b, setB] = useState(versions[versions.length - 1] ?? "");
  if (versions.length < 2) return null;
  const pick = (value: string, set: (v: string) => void, label: string) => (
    <select aria-label={label} value={value} onChange={(e) => set(e.target.value)}>
      {versions.map((v) => (
        <option key={v} value={v}>
          v{v}
        </option>
      ))}
    </select>
  );
  return (
    <form
      className="row"
      aria-label={`compare versions of ${name}`}
      onSubmit={(e) => {
        e.preventDefault();
        navigate(`/models/${encodeURIComponent(name)}/diff/${encodeURIComponent(a)}/${encodeURIComponent(b)}`);
      }}
    >
      Why did it change? {pick(a, setA, "from version")} → {pick(b, setB, "to version")}
      <button type="submit">Compare</button>
    </form>
  );
}
