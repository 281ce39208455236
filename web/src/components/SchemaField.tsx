import { useState, type KeyboardEvent } from "react";
import type { Json, JsonSchema } from "../types";
import { display, fieldKind, parse, unwrap } from "../graph/schema";
import { columnField, type ColumnInfo } from "../graph/columns";

interface Props {
  name: string;
  schema: JsonSchema;
  value: Json | undefined;
  onChange: (value: Json | undefined) => void;
  /** The source's columns, when known: a column parameter is then picked from them. */
  columns?: ColumnInfo[] | null;
}

/** The column names a value holds (a name, or a list of names). */
function picked(value: Json | undefined): string[] {
  if (typeof value === "string") return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/** One parameter's input, drawn from its JSON Schema; text is committed on Enter or when focus leaves. */
export function SchemaField({ name, schema, value, onChange, columns }: Props) {
  const s = unwrap(schema);
  const kind = fieldKind(s);
  const pick = columns && columns.length > 0 ? columnField(name, schema) : null;
  const shown = display(value, kind);
  const [text, setText] = useState(shown);
  const [seen, setSeen] = useState(shown);
  const [error, setError] = useState<string | null>(null);
  if (shown !== seen) {
    // The value changed elsewhere (undo, the YAML panel): show it.
    setSeen(shown);
    setText(shown);
  }
  const commit = () => {
    try {
      const v = parse(text, kind);
      setError(null);
      if (display(v, kind) !== shown) onChange(v);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  const onKey = (e: KeyboardEvent) => {
    if (e.key === "Enter") commit();
  };
  const help = s.description ?? "";
  const placeholder = s.default !== undefined && s.default !== null ? `default: ${JSON.stringify(s.default)}` : "";
  let input;
  if (pick && columns) {
    const chosen = picked(value);
    // A chosen name the source does not have stays listed, so that it can be seen and unpicked.
    const offered = [...columns, ...chosen.filter((c) => !columns.some((k) => k.name === c)).map((c) => ({ name: c, type: "not in the source" }))];
    if (pick === "one") {
      input = (
        <select aria-label={name} value={chosen[0] ?? ""} onChange={(e) => onChange(e.target.value === "" ? undefined : e.target.value)}>
          <option value="">{placeholder || "—"}</option>
          {offered.map((c) => (
            <option key={c.name} value={c.name}>
              {c.name} ({c.type})
            </option>
          ))}
        </select>
      );
    } else {
      const toggle = (column: string, on: boolean) => {
        const next = on ? [...chosen, column] : chosen.filter((c) => c !== column);
        onChange(next.length === 0 ? undefined : offered.map((c) => c.name).filter((c) => next.includes(c)));
      };
      return (
        <fieldset className="field columns" aria-label={name}>
          <legend className="field-name" title={help}>
            {name}
          </legend>
          {offered.map((c) => (
            <div key={c.name} className="column-choice">
              <label>
                <input type="checkbox" checked={chosen.includes(c.name)} onChange={(e) => toggle(c.name, e.target.checked)} /> {c.name}
              </label>{" "}
              <small className="muted">{c.type}</small>
            </div>
          ))}
          {help && <small>{help}</small>}
        </fieldset>
      );
    }
  } else if (kind === "boolean") {
    input = (
      <input type="checkbox" aria-label={name} checked={value === undefined ? s.default === true : value === true} onChange={(e) => onChange(e.target.checked)} />
    );
  } else if (kind === "enum") {
    input = (
      <select aria-label={name} value={shown} onChange={(e) => onChange(e.target.value === "" ? undefined : (s.enum?.find((o) => String(o) === e.target.value) ?? e.target.value))}>
        <option value="">{placeholder || "—"}</option>
        {(s.enum ?? []).map((o) => (
          <option key={String(o)} value={String(o)}>
            {String(o)}
          </option>
        ))}
      </select>
    );
  } else {
    input = (
      <input
        aria-label={name}
        type="text"
        inputMode={kind === "integer" || kind === "number" ? "decimal" : undefined}
        value={text}
        placeholder={placeholder}
        onChange={(e) => setText(e.target.value)}
        onBlur={commit}
        onKeyDown={onKey}
      />
    );
  }
  return (
    <div className="field">
      <label title={help}>
        <span className="field-name">{s.title && s.title.toLowerCase() !== name.replace(/_/g, " ") ? `${name} (${s.title})` : name}</span>
        {input}
      </label>
      {help && <small>{help}</small>}
      {error && <small className="error">{error}</small>}
    </div>
  );
}
