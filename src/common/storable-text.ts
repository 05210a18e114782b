/**
 * Text that every database accepts. PostgreSQL refuses the NUL character
 * (U+0000) in `text` and `jsonb`, and refuses lone UTF-16 surrogates in
 * `jsonb`; SQLite takes both. Upstream text is stored with each of them
 * replaced by U+FFFD (the replacement character), so one upstream's odd
 * result never fails a write; what the caller receives is relayed unchanged.
 */

export const REPLACEMENT_CHARACTER = '\uFFFD';

/** NUL, or a high surrogate without its low half, or a low surrogate without its high half. */
// eslint-disable-next-line no-control-regex -- NUL is one of the characters PostgreSQL refuses; matching it is the point.
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const UNSTORABLE_ALL = new RegExp(UNSTORABLE.source, 'g');

/**
 * JSON.stringify writes NUL as `\u0000` and lone surrogates as `\udXXX`; a
 * quick scan of the text finds every candidate (a literal backslash followed
 * by "u0000" is a false positive, settled by the exact walk).
 */
const ESCAPE_CANDIDATE = /\\u(?:0000|d[89a-f])/i;

/** Whether a string contains a character a database may refuse. */
export function isStorableText(text: string): boolean {
  return !UNSTORABLE.test(text);
}

/** The string with NUL and lone surrogates replaced by U+FFFD. */
export function storableText(text: string): string;
export function storableText(text: string | null): string | null;
export function storableText(text: string | null): string | null {
  if (text === null || isStorableText(text)) return text;
  return text.replace(UNSTORABLE_ALL, REPLACEMENT_CHARACTER);
}

/** Whether any string (value or key) anywhere in a JSON value contains NUL or a lone surrogate. */
export function containsUnstorableText(value: unknown): boolean {
  return unsendableIn(value) === 'text';
}

/**
 * What in a parsed JSON value cannot be stored and sent on as it is, in one
 * walk: `text` (NUL or a lone surrogate, in a value or a key) wherever it is,
 * else `number` (a number that is not finite: `1e400` parses to Infinity,
 * which `JSON.stringify` would send upstream as `null`). Undefined when
 * nothing. Text wins: a non-finite number before it must not hide it from
 * `containsUnstorableText`, which decides what is replaced before a write.
 */
export function unsendableIn(value: unknown): 'text' | 'number' | undefined {
  let nonFinite = false;
  const hasUnstorableText = (item: unknown): boolean => {
    if (typeof item === 'string') return !isStorableText(item);
    if (typeof item === 'number') {
      if (!Number.isFinite(item)) nonFinite = true;
      return false;
    }
    if (Array.isArray(item)) return item.some(hasUnstorableText);
    if (item !== null && typeof item === 'object') {
      return Object.entries(item).some(([key, inner]) => !isStorableText(key) || hasUnstorableText(inner));
    }
    return false;
  };
  if (hasUnstorableText(value)) return 'text';
  return nonFinite ? 'number' : undefined;
}

/** A deep copy with every string (values and keys) made storable. */
function storableValue(value: unknown): unknown {
  if (typeof value === 'string') return storableText(value);
  if (Array.isArray(value)) return value.map(storableValue);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [storableText(key), storableValue(item)]));
  }
  return value;
}

/** The value itself when every string in it is storable, else a copy with NUL and lone surrogates replaced. */
export function storableStructure<T>(value: T): T {
  return containsUnstorableText(value) ? (storableValue(value) as T) : value;
}

/**
 * JSON text for a `json`/`jsonb` column, with NUL and lone surrogates
 * replaced. The common case (nothing to replace) costs one scan of the text.
 */
export function storableJson(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const text = JSON.stringify(value);
  if (!ESCAPE_CANDIDATE.test(text) || !containsUnstorableText(value)) return text;
  return JSON.stringify(storableValue(value));
}
