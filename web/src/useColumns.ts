import { useEffect, useState } from "react";
import { errorText } from "./api";
import { call, client } from "./client";
import type { ColumnInfo } from "./graph/columns";
import { useDesigner } from "./store";

export interface SourceColumns {
  columns: ColumnInfo[] | null;
  error: string | null;
}

const cache = new Map<string, ColumnInfo[]>();

/** The columns of the pipeline's source (its node's `source` field), read by the server from its first rows. */
export function useSourceColumns(): SourceColumns {
  const source = useDesigner((s) => s.nodes.find((n) => n.type === "source")?.data.source);
  const key = source === undefined || source === null || source === "" ? "" : JSON.stringify(source);
  const [state, setState] = useState<SourceColumns & { key: string }>({ key: "", columns: null, error: null });
  useEffect(() => {
    if (key === "" || cache.has(key)) return;
    let live = true;
    const timer = window.setTimeout(() => {
      call(client.POST("/api/specs/columns", { body: { source } })).then(
        (r) => {
          cache.set(key, r.columns);
          if (live) setState({ key, columns: r.columns, error: null });
        },
        (e: unknown) => live && setState({ key, columns: null, error: errorText(e) }),
      );
    }, 300);
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
  }, [key, source]);
  if (key === "") return { columns: null, error: null };
  const cached = cache.get(key);
  if (cached) return { columns: cached, error: null };
  return state.key === key ? { columns: state.columns, error: state.error } : { columns: null, error: null };
}
