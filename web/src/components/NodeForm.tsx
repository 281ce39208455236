import type { Catalog, CatalogEntry, JsonObject, JsonSchema } from "../types";
import { useDesigner } from "../store";
import { NODE_FIELDS } from "../graph/fields";
import { inferSchema, withParam } from "../graph/schema";
import { SchemaField } from "./SchemaField";
import { ConnectForm } from "./ConnectForm";
import { useSourceColumns } from "../useColumns";
import { columnField } from "../graph/columns";

function entryOf(catalog: Catalog, kind: string, name: unknown): CatalogEntry | undefined {
  const group = kind === "step" ? catalog.steps : kind === "candidate" ? catalog.candidates : [];
  return group.find((e) => e.name === name);
}

/**
 * The selected node's form: a step's parameters from its catalog schema, the other nodes' spec fields;
 * fields the node has but neither knows are drawn from their values.
 */
export function NodeForm({ catalog }: { catalog: Catalog }) {
  const node = useDesigner((s) => s.nodes.find((n) => n.id === s.selected));
  const setData = useDesigner((s) => s.setData);
  const source = useSourceColumns();
  if (!node) return <p className="empty">Select a node to edit its parameters.</p>;
  const kind = node.type ?? "";
  const data = node.data;
  const entry = entryOf(catalog, kind, data.name);
  const isStep = kind === "step";
  const values: JsonObject = isStep ? (data.params && typeof data.params === "object" && !Array.isArray(data.params) ? data.params : {}) : data;
  const known: Record<string, JsonSchema> = isStep ? (entry?.params_schema?.properties ?? {}) : (NODE_FIELDS[kind] ?? {});
  const properties: Record<string, JsonSchema> = { ...inferSchema(values).properties, ...known };
  if (isStep || kind === "candidate") delete properties.name;
  if (kind === "competition") properties.metric = { ...properties.metric, enum: catalog.metrics.map((m) => m.name) };
  const change = (key: string, value: Parameters<typeof withParam>[2]) => {
    const next = withParam(values, key, value);
    setData(node.id, isStep ? { ...data, params: next } : next);
  };
  const keys = Object.keys(properties);
  return (
    <form className="node-form" aria-label={`${node.id} parameters`} onSubmit={(e) => e.preventDefault()}>
      <h3>
        {kind}: {typeof data.name === "string" && kind !== "source" ? data.name : node.id}
      </h3>
      {entry && <p className="description">{entry.description}</p>}
      <ConnectForm id={node.id} />
      {keys.length === 0 && <p className="empty">No parameters.</p>}
      {source.error && keys.some((k) => columnField(k, properties[k] ?? {})) && <small className="muted">columns unknown: {source.error}</small>}
      {keys.map((k) => (
        <SchemaField key={`${node.id}/${k}`} name={k} schema={properties[k] ?? {}} value={values[k]} onChange={(v) => change(k, v)} columns={source.columns} />
      ))}
    </form>
  );
}
