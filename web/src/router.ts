import { useSyncExternalStore } from "react";

/** The page's route: the part of the URL after "#", e.g. "/runs/abc". */
function current(): string {
  return window.location.hash.replace(/^#/, "") || "/designer";
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener("hashchange", onChange);
  return () => window.removeEventListener("hashchange", onChange);
}

export function useRoute(): string {
  return useSyncExternalStore(subscribe, current);
}

export function navigate(path: string): void {
  window.location.hash = path;
}
