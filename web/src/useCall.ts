import { useCallback, useEffect, useState } from "react";
import { errorText } from "./api";

export interface Called<T> {
  data: T | null;
  error: string | null;
  reload: () => void;
}

/** Make a typed call (client.ts) when the component shows, when `key` changes, and on reload(). */
export function useCall<T>(key: string, make: () => Promise<T>): Called<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    make().then(
      (d) => live && (setData(d), setError(null)),
      (e: unknown) => live && setError(errorText(e)),
    );
    return () => {
      live = false;
    };
    // `make` is a new closure each render; `key` says when it asks for something else
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, reload };
}
