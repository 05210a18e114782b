import { createHash } from 'node:crypto';

/** The parts of an MCP tool definition that describe what it does. */
export interface IndexableTool {
  name: string;
  title?: string;
  description: string | null;
  inputSchema: Record<string, unknown>;
}

/**
 * Longest description and parameter text kept in a document. Some servers ship
 * multi-page descriptions; the sentence encoder averages over tokens, so a tail of
 * usage notes only dilutes the vector, and Chroma documents stay small.
 */
const MAX_DESCRIPTION_CHARS = 1_000;
const MAX_PARAMETER_CHARS = 600;

/** `get_weather`, `getWeather`, `get-weather`, `maps.search` → `get weather`, `maps search`. */
export function splitIdentifier(identifier: string): string {
  return identifier
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .replace(/[_\-./:]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase();
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max).replace(/\s+\S*$/, '')}…`;
}

/** `name (description)` for each top-level input property, in schema order. */
export function describeParameters(inputSchema: Record<string, unknown>): string {
  const properties = inputSchema['properties'];
  if (!properties || typeof properties !== 'object') return '';
  const parts: string[] = [];
  for (const [name, spec] of Object.entries(properties as Record<string, unknown>)) {
    const description =
      spec && typeof spec === 'object' && typeof (spec as { description?: unknown }).description === 'string'
        ? ((spec as { description: string }).description.split('\n')[0] ?? '').trim()
        : '';
    const words = splitIdentifier(name);
    parts.push(description ? `${words} (${description})` : words);
  }
  return truncate(parts.join('; '), MAX_PARAMETER_CHARS);
}

/**
 * The searchable summary of a tool: what it is called and what it does. Used for the
 * dense vector; kept short so it is not drowned out by parameter details.
 */
export function toolSummaryText(tool: IndexableTool): string {
  const lines = [splitIdentifier(tool.name)];
  const title = tool.title?.trim();
  if (title && title.toLowerCase() !== lines[0]) lines.push(title);
  const description = tool.description?.replace(/\s+/g, ' ').trim();
  if (description) lines.push(truncate(description, MAX_DESCRIPTION_CHARS));
  return lines.join('. ');
}

/**
 * The text behind a tool's dense vector: its description alone when it says
 * something (≥ 3 words). Measured on the evaluation set, adding the name words or
 * parameters to the vector made the small sentence encoder worse; those go to
 * the lexical side instead. Terse tools fall back to title or name words.
 */
export function toolEmbeddingText(tool: IndexableTool): string {
  const description = truncate(tool.description?.replace(/\s+/g, ' ').trim() ?? '', MAX_DESCRIPTION_CHARS);
  if (description.split(' ').length >= 3) return description;
  const label = tool.title?.trim() || splitIdentifier(tool.name);
  return description ? `${label}. ${description}` : label;
}

/**
 * The full document stored in Chroma (and used for lexical re-ranking): the raw
 * tool name, its words, title, description, then parameter names and descriptions.
 */
export function toolDocument(tool: IndexableTool): string {
  const parameters = describeParameters(tool.inputSchema);
  const head = `${tool.name}: ${toolSummaryText(tool)}`;
  return parameters ? `${head}\nParameters: ${parameters}` : head;
}

/**
 * Collection names start with the deployment's prefix (`TMWS_CHROMA_PREFIX`), so two
 * deployments sharing one Chroma server never open, prune or drop each other's collections.
 * @default 'tmws'
 */
export const DEFAULT_COLLECTION_PREFIX = 'tmws';

/**
 * Chroma collection of a namespace. Chroma names allow 3–512 of `[a-zA-Z0-9._-]`,
 * starting and ending alphanumeric; namespaces are free text. The readable part is a
 * sanitized prefix, and the sha256 suffix keeps distinct namespaces distinct even when
 * they sanitize alike (`a b` vs `a_b`). The true namespace is kept in collection metadata.
 */
export function collectionNameForNamespace(namespace: string, prefix = DEFAULT_COLLECTION_PREFIX): string {
  const readable = namespace.replace(/[^a-zA-Z0-9_-]+/g, '_').slice(0, 40);
  const digest = createHash('sha256').update(namespace, 'utf8').digest('hex').slice(0, 16);
  return `${prefix}-ns-${readable}${readable ? '-' : ''}${digest}`;
}

/**
 * Whether a collection name looks like one of this deployment's tool-index collections.
 * Names alone can overlap (prefix `a` vs `a-ns`): the store also compares the prefix
 * recorded in the collection's metadata.
 */
export function isToolIndexCollection(name: string, prefix = DEFAULT_COLLECTION_PREFIX): boolean {
  return name.startsWith(`${prefix}-ns-`);
}

/** Record id of one tool of one connection; unique inside the namespace's collection. */
export function toolRecordId(connectionId: string, toolName: string): string {
  return `${connectionId}::${toolName}`;
}
