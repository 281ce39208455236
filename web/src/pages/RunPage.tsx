import { useEffect, useState } from "react";
import { useApi } from "../useApi";
import type { Json, JsonObject } from "../types";
import { DataView, formatNumber } from "../components/DataView";
import { ErrorLine } from "../components/ErrorLine";
import { Table } from "../components/Table";
import { ScoreChart } from "../components/ScoreChart";
import { progressOf } from "../progress";

export interface Run {
  run_id: string;
  status: string;
  leaderboard?: JsonObject[] | null;
  gate?: Json;
  promotion?: Json;
  model?: Json;
  error?: string | null;
  metric?: string | null;
}

interface RunEvent {
  id: string;
  type: string;
  message: string;
  data: JsonObject;
}

function parseEvent(e: MessageEvent<string>): RunEvent {
  let data: JsonObject = {};
  try {
    const parsed: unknown = JSON.parse(e.data);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) data = parsed as JsonObject;
  } catch {
    data = { message: e.data };
  }
  const type = typeof data.type === "string" ? data.type : e.type;
  const message = typeof data.message === "string" ? data.message : summary(data);
  return { id: e.lastEventId, type, message, data };
}

/** An event's fields in one line, e.g. `candidate=lightgbm value=0.81`. */
function summary(data: JsonObject): string {
  return Object.entries(data)
    .filter(([k, v]) => k !== "type" && k !== "id" && k !== "time" && v !== null)
    .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : String(v)}`)
    .join(" ");
}

const LEADERBOARD = ["rank", "candidate", "status", "score", "fit_seconds", "predict_ms_per_1000", "size_bytes", "error"];

/** A run as it happens (Server-Sent Events; the browser resumes with Last-Event-ID), then its leaderboard, gate and promotion. */
export function RunPage({ runId }: { runId: string }) {
  const run = useApi<Run>(`/api/runs/${encodeURIComponent(runId)}`);
  const [events, setEvents] = useState<RunEvent[]>([]);
  const [ended, setEnded] = useState(false);
  const { reload } = run;

  useEffect(() => {
    const source = new EventSource(`/api/runs/${encodeURIComponent(runId)}/events`);
    const onEvent = (e: MessageEvent<string>) => {
      const ev = parseEvent(e);
      setEvents((list) => (list.some((x) => x.id !== "" && x.id === ev.id) ? list : [...list, ev]));
      if (ev.type === "end") {
        source.close();
        setEnded(true);
        reload();
      }
    };
    source.onmessage = onEvent;
    source.addEventListener("end", onEvent);
    return () => source.close();
  }, [runId, reload]);

  const r = run.data;
  const progress = progressOf(events.map((e) => e.data));
  const metric = r?.metric ?? "score";
  const status = ended && r?.status ? r.status : (r?.status ?? "…");
  return (
    <div className="page">
      <h1>
        Run <code>{runId}</code> <span className={`badge status-${status}`} data-testid="run-status">{status}</span>
      </h1>
      <ErrorLine error={run.error ?? r?.error} />
      {Object.keys(progress.families).length > 0 && (
        <section aria-label="Progress">
          <h2>Progress</h2>
          <p>
            {progress.trials} trial(s) finished
            {progress.best && (
              <>
                {" "}
                · best so far: <strong>{progress.best.candidate}</strong> {formatNumber(progress.best.value)}
              </>
            )}
          </p>
          <p>
            {Object.entries(progress.families).map(([family, state]) => (
              <span key={family} className={`chip badge status-${state}`}>
                {family}: {state}
              </span>
            ))}
          </p>
        </section>
      )}
      <section>
        <h2>Leaderboard</h2>
        {r?.leaderboard && r.leaderboard.length > 0 ? (
          <>
            <Table rows={r.leaderboard} label="Leaderboard" columns={LEADERBOARD.filter((c) => r.leaderboard?.some((row) => c in row))} />
            <ScoreChart rows={r.leaderboard} metric={metric} />
          </>
        ) : (
          <p className="empty">{ended ? "No trial finished." : "The leaderboard appears when the run ends."}</p>
        )}
      </section>
      {r?.gate != null && (
        <section>
          <h2>Gate</h2>
          <DataView value={r.gate} />
        </section>
      )}
      {r?.promotion != null && (
        <section>
          <h2>Promotion</h2>
          <DataView value={r.promotion} />
        </section>
      )}
      {r?.model != null && (
        <section>
          <h2>Model</h2>
          <DataView value={r.model} />
        </section>
      )}
      <section>
        <h2>Events</h2>
        {events.length === 0 ? (
          <p className="empty">Waiting for the run's first event…</p>
        ) : (
          <ol className="events" aria-label="Run events">
            {events.map((e, i) => (
              <li key={`${e.id}-${i}`} className={`event type-${e.type}`}>
                <span className="badge">{e.type}</span> {e.message}
              </li>
            ))}
          </ol>
        )}
      </section>
    </div>
  );
}
