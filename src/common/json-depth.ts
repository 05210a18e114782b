/** SPEC §14: JSON request bodies nest at most this deep (objects and arrays). */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether JSON text nests objects/arrays deeper than `maxDepth`, in one linear
 * pass that skips strings. Checked before parsing: JSON.parse itself copes with
 * any depth, but the recursive code after it (JSON.stringify of the audit row,
 * schema validation, GraphQL coercion) overflows the stack.
 */
export function jsonTextTooDeep(text: string, maxDepth = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === 0x5c)
        i += 1; // backslash: skip the escaped character
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) {
      inString = true;
    } else if (code === 0x7b || code === 0x5b) {
      depth += 1;
      if (depth > maxDepth) return true;
    } else if (code === 0x7d || code === 0x5d) {
      depth -= 1;
    }
  }
  return false;
}

/** The same bound for an already parsed value (e.g. GraphQL variables from a query string); iterative, no recursion. */
export function valueTooDeep(value: unknown, maxDepth = MAX_JSON_DEPTH): boolean {
  const pending: Array<[unknown, number]> = [[value, 1]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [current, depth] = next;
    if (current === null || typeof current !== 'object') continue;
    if (depth > maxDepth) return true;
    for (const child of Object.values(current)) {
      if (child !== null && typeof child === 'object') pending.push([child, depth + 1]);
    }
  }
  return false;
}
