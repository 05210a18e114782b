import { jsonTextTooDeep, valueTooDeep } from '../common/json-depth.js';
import { ExternalServiceError } from '../errors/index.js';
import type { UpstreamCallResult } from './ports.js';

/**
 * Deepest nesting accepted in an upstream result. Parsing copes with any depth,
 * but storing and answering it (JSON.stringify, GraphQL serialisation) recurse
 * and overflow the stack a few thousand levels down: a hostile upstream would
 * turn every call into a 500. Generous next to the 64 allowed in requests.
 */
export const MAX_RESULT_DEPTH = 256;

/** The first non-blank character of any JSON text (object, array, string, number, true, false, null). */
const JSON_START = /^\s*[{["\-0-9tfn]/;

/**
 * The v2.3 `result.result` field: structuredContent when present, else the
 * parsed JSON of a single text block, else that text, else the content array.
 * Clients of v2.3 read `.result.result.<field>`.
 */
export function primaryResultValue(result: UpstreamCallResult): unknown {
  if (result.structuredContent !== undefined) return result.structuredContent;
  const content = result.content;
  if (content.length === 1) {
    const block = content[0] as { type?: unknown; text?: unknown };
    if (block?.type === 'text' && typeof block.text === 'string') {
      // Most tools answer plain text: don't pay for a thrown SyntaxError on every call.
      if (!JSON_START.test(block.text)) return block.text;
      // JSON too deep to answer with is relayed as the text it is.
      if (jsonTextTooDeep(block.text, MAX_RESULT_DEPTH)) return block.text;
      try {
        return JSON.parse(block.text);
      } catch {
        return block.text;
      }
    }
  }
  return content;
}

/** Upper bound of the result copy kept in the audit trail; the caller always gets the whole result. */
export const STORED_RESULT_MAX_BYTES = 256 * 1024;

/**
 * The upstream result as stored on the execution: faithful when small, a
 * marked summary when large. A result nested deeper than MAX_RESULT_DEPTH is
 * refused (EXTERNAL_SERVICE_ERROR, `result_too_deep`): the execution fails.
 */
export function storableResult(result: UpstreamCallResult): Record<string, unknown> {
  const full: Record<string, unknown> = { content: result.content, isError: result.isError };
  if (result.structuredContent !== undefined) full.structuredContent = result.structuredContent;
  if (result._meta !== undefined) full._meta = result._meta;
  if (valueTooDeep(full, MAX_RESULT_DEPTH)) {
    throw new ExternalServiceError('result_too_deep', `Upstream result is nested deeper than ${MAX_RESULT_DEPTH} levels`);
  }
  const size = Buffer.byteLength(JSON.stringify(full));
  if (size <= STORED_RESULT_MAX_BYTES) return full;
  return {
    truncated: true,
    bytes: size,
    isError: result.isError,
    contentTypes: result.content.map((block) => (block as { type?: unknown }).type ?? 'unknown'),
  };
}
