import { useState, type KeyboardEvent } from "react";
import type { Json, JsonSchema } from "../types";
import { display, fieldKind, parse, unwrap } from "../graph/schema";

interface Props {
  name: string;
  schema: JsonSchema;
  value: Json | undefined;
  onChange: (value: Json | undefined) => void;
}

/** One parameter's input, drawn from its JSON Schema; text is committed on Enter or when focus leaves. */
export function SchemaField({ name, schema, value, onChange }: Props) {
  const s = unwrap(schema);
  const kind = fieldKind(s);
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
  if (kind === "boolean") {
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
