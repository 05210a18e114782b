import type { ToolDefinition } from '../../common/tool-definition.js';
import { DESCRIPTION_RULES, type DescriptionRule } from './description-rules.js';

/** Upstream text is untrusted and unbounded: the scan looks at this much of each field. */
const MAX_SCANNED_CHARS = 20_000;
/** Parameter descriptions read, at most, per tool (schemas may nest without end). */
const MAX_SCHEMA_TEXTS = 200;

export interface ScanFinding {
  rule: string;
  reason: string;
  /** Which text matched: `description`, `title`, `name` or `inputSchema.<path>`. */
  field: string;
}

/**
 * Flags a definition whose text is hidden from people (invisible or reordering
 * characters) or addressed to the model (instructions, concealment, requests to
 * read secrets or send data away). Every rule is data (description-rules.ts).
 */
export function scanToolDefinition(tool: ToolDefinition, rules: readonly DescriptionRule[] = DESCRIPTION_RULES): ScanFinding[] {
  const findings: ScanFinding[] = [];
  for (const [field, text] of textsOf(tool)) {
    // Not `\s`: it includes U+FEFF, which the zero-width rule must still see.
    const folded = text.slice(0, MAX_SCANNED_CHARS).replace(/[\t\n\v\f\r \u00A0\u2028\u2029]+/gu, ' ');
    for (const rule of rules) {
      if (rule.pattern.test(folded) && !findings.some((f) => f.rule === rule.id)) {
        findings.push({ rule: rule.id, reason: rule.reason, field });
      }
    }
  }
  return findings;
}

/** The texts a model reads: name, title, description, and every `description`/`title` inside the input schema. */
function textsOf(tool: ToolDefinition): [string, string][] {
  const texts: [string, string][] = [['name', tool.name]];
  if (tool.title) texts.push(['title', tool.title]);
  if (tool.description) texts.push(['description', tool.description]);
  collectSchemaTexts(tool.inputSchema, 'inputSchema', texts, 0);
  return texts;
}

function collectSchemaTexts(node: unknown, path: string, into: [string, string][], depth: number): void {
  if (node === null || typeof node !== 'object' || depth > 32 || into.length > MAX_SCHEMA_TEXTS) return;
  for (const [key, value] of Object.entries(node)) {
    if ((key === 'description' || key === 'title') && typeof value === 'string') into.push([`${path}.${key}`, value]);
    else if (typeof value === 'string' && key === 'default') into.push([`${path}.${key}`, value]);
    else collectSchemaTexts(value, `${path}.${key}`, into, depth + 1);
  }
}
