/** Shapes of the console API (see /api/openapi.json); the web app uses only these. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: Json[];
  default?: Json;
  anyOf?: JsonSchema[];
  items?: JsonSchema;
  minimum?: number;
  maximum?: number;
}

export interface CatalogEntry {
  name: string;
  description: string;
  params_schema?: JsonSchema;
}

export interface Catalog {
  steps: CatalogEntry[];
  candidates: CatalogEntry[];
  metrics: CatalogEntry[];
  sources: CatalogEntry[];
  notifiers: CatalogEntry[];
}

/** A node: its kind (`type`) and the spec fields it owns (`data`; a step's are `{name, params}`). */
export interface SpecNode {
  id: string;
  type: string;
  data: JsonObject;
}

export interface SpecEdge {
  id?: string;
  source: string;
  target: string;
}

export interface Position {
  x: number;
  y: number;
}

/** The pipeline as a graph: the server converts it to and from the spec YAML. */
export interface SpecGraph {
  nodes: SpecNode[];
  edges: SpecEdge[];
  layout?: Record<string, Position>;
}

export interface ValidationError {
  node: string | null;
  message: string;
}

export interface Validation {
  ok: boolean;
  errors: ValidationError[];
}
