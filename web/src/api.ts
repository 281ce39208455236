/** The console API client: JSON in and out, the session's CSRF token on state-changing calls. */

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

let csrfToken = "";
let onUnauthorized: () => void = () => undefined;

export function setCsrf(token: string): void {
  csrfToken = token;
}

/** The session's CSRF token, for the typed client (client.ts). */
export function csrf(): string {
  return csrfToken;
}

/** Tell the app that a call answered 401. */
export function unauthorized(): void {
  onUnauthorized();
}

/** The one-line message of an error body (FastAPI's `detail`), if it has one. */
export function detailOf(body: unknown): string | null {
  if (body && typeof body === "object" && "detail" in body) {
    const detail = (body as { detail: unknown }).detail;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail
        .map((d: unknown) => (d && typeof d === "object" && "msg" in d ? String((d as { msg: unknown }).msg) : String(d)))
        .join("; ");
    }
  }
  return null;
}

/** Called when any call answers 401: the page shows the sign-in form again. */
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

/** The API's one-line message (FastAPI's `detail`), never a stack trace. */
async function messageOf(res: Response): Promise<string> {
  const text = await res.text();
  try {
    const detail = detailOf(JSON.parse(text));
    if (detail !== null) return detail;
  } catch {
    // not JSON: fall through to the status line
  }
  return `${res.status} ${res.statusText}`.trim();
}

export async function request<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken;
  let payload: BodyInit | undefined;
  if (body instanceof Blob) {
    payload = body;
    headers["Content-Type"] = contentType ?? (body.type || "application/octet-stream");
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers["Content-Type"] = "application/json";
  }
  const res = await fetch(path, { method, headers, body: payload, credentials: "same-origin" });
  if (res.status === 401 && !path.startsWith("/api/session")) onUnauthorized();
  if (!res.ok) throw new ApiError(res.status, await messageOf(res));
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

export const get = <T>(path: string): Promise<T> => request<T>("GET", path);
export const post = <T>(path: string, body?: unknown): Promise<T> => request<T>("POST", path, body ?? {});

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
