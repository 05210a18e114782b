import { createHash } from 'node:crypto';

/** The parts of a tool that define what a model is told and what it may send: what a pin covers. */
export interface ToolDefinition {
  name: string;
  title?: string | null;
  description?: string | null;
  inputSchema: Record<string, unknown>;
  outputSchema?: Record<string, unknown> | null;
  annotations?: Record<string, unknown> | null;
}

/**
 * The definition as one plain object with absent parts as `null`, so an
 * upstream that omits `title` one time and sends `null` the next does not look
 * changed.
 */
export function canonicalDefinition(tool: ToolDefinition): Record<string, unknown> {
  return {
    name: tool.name,
    title: tool.title ?? null,
    description: tool.description ?? null,
    inputSchema: tool.inputSchema,
    outputSchema: tool.outputSchema ?? null,
    annotations: tool.annotations ?? null,
  };
}

/** JSON with object keys sorted at every depth: the same definition always serialises to the same text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
  return sorted;
}

/** SHA-256 (hex) of the canonical definition: key order and absent-vs-null do not change it; any content does. */
export function definitionHash(tool: ToolDefinition): string {
  return createHash('sha256')
    .update(canonicalJson(canonicalDefinition(tool)))
    .digest('hex');
}
