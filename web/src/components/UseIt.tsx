import { useState } from "react";
import { errorText } from "../api";
import { call, client, type Schemas } from "../client";
import { useApi } from "../useApi";
import type { JsonObject } from "../types";
import { exampleRecord, snippets } from "../graph/snippets";
import { ErrorLine } from "./ErrorLine";

interface Props {
  serviceId: string;
  url: string;
  model: string;
  version: number;
  auth: boolean;
}

/** How to call one model of a service: a Try it form (through the console), then curl and Python, with an example record from its input schema. */
export function UseIt({ serviceId, url, model, version, auth }: Props) {
  const info = useApi<JsonObject>(`/api/models/${encodeURIComponent(model)}/versions/${encodeURIComponent(String(version))}`);
  const [text, setText] = useState<string | null>(null);
  const [key, setKey] = useState("");
  const [answer, setAnswer] = useState<Schemas["TryAnswer"] | null>(null);
  const [error, setError] = useState<string | null>(null);
  if (info.error) return <ErrorLine error={info.error} />;
  if (!info.data) return <p className="empty">Loading {model}'s input schema…</p>;
  const example = exampleRecord(info.data.input_schema);
  const shown = text ?? JSON.stringify(example, null, 1);
  const { curl, python } = snippets(url, model, example, auth);
  const send = () => {
    setError(null);
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(shown) as Record<string, unknown>;
    } catch (e) {
      setError(`The record is not JSON: ${errorText(e)}`);
      return;
    }
    call(client.POST("/api/endpoints/{service_id}/predict", { params: { path: { service_id: serviceId } }, body: { model, record, key: key || null } })).then(
      setAnswer,
      (e: unknown) => setError(errorText(e)),
    );
  };
  return (
    <div className="use-it" aria-label={`Call ${model}`}>
      <h4>
        {model} v{version}
      </h4>
      <form
        className="try-it"
        aria-label={`Try ${model}`}
        onSubmit={(e) => {
          e.preventDefault();
          send();
        }}
      >
        <label>
          record <textarea aria-label={`record for ${model}`} value={shown} rows={6} spellCheck={false} onChange={(e) => setText(e.target.value)} />
        </label>
        {auth && (
          <label>
            API key <input type="password" aria-label={`API key for ${model}`} value={key} onChange={(e) => setKey(e.target.value)} autoComplete="off" />
          </label>
        )}
        <button type="submit">Send</button>
      </form>
      <ErrorLine error={error} />
      {answer && (
        <pre aria-label={`answer of ${model}`}>
          {answer.status === null ? "no answer" : `HTTP ${answer.status}`}
          {"\n"}
          {JSON.stringify(answer.body, null, 1)}
        </pre>
      )}
      <pre aria-label={`curl for ${model}`}>{curl}</pre>
      <pre aria-label={`Python for ${model}`}>{python}</pre>
    </div>
  );
}
