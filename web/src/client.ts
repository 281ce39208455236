/**
 * The typed console API client: paths, parameters, bodies and answers come from the server's
 * OpenAPI document (schema.d.ts is generated from web/openapi.json by `make console-api`), so a
 * change of the API that the app does not follow fails the type check.
 */
import createClient from "openapi-fetch";
import { ApiError, csrf, detailOf, unauthorized } from "./api";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];

export const client = createClient<paths>({ credentials: "same-origin" });

client.use({
  onRequest({ request }) {
    if (request.method !== "GET") request.headers.set("X-CSRF-Token", csrf());
    return request;
  },
  onResponse({ response }) {
    if (response.status === 401) unauthorized();
    return response;
  },
});

/** The answer of a typed call, or an ApiError with the API's one-line message. */
export async function call<T>(pending: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await pending;
  if (!response.ok) throw new ApiError(response.status, detailOf(error) ?? `${response.status} ${response.statusText}`.trim());
  return data as T;
}
