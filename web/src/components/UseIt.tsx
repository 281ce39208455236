import { useApi } from "../useApi";
import type { JsonObject } from "../types";
import { exampleRecord, snippets } from "../graph/snippets";
import { ErrorLine } from "./ErrorLine";

/** How to call one model of a service: curl and Python with an example record from its input schema. */
export function UseIt({ url, model, version, auth }: { url: string; model: string; version: number; auth: boolean }) {
  const info = useApi<JsonObject>(`/api/models/${encodeURIComponent(model)}/versions/${encodeURIComponent(String(version))}`);
  if (info.error) return <ErrorLine error={info.error} />;
  if (!info.data) return <p className="empty">Loading {model}'s input schema…</p>;
  const { curl, python } = snippets(url, model, exampleRecord(info.data.input_schema), auth);
  return (
    <div className="use-it" aria-label={`Call ${model}`}>
      <h4>
        {model} v{version}
      </h4>
      <pre aria-label={`curl for ${model}`}>{curl}</pre>
      <pre aria-label={`Python for ${model}`}>{python}</pre>
    </div>
  );
}
