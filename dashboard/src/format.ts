import type { ExecutionOutcomeFragment } from '../gql/graphql.js';
import { h } from './dom.js';
import { figures, imagesOf, withImagesElided } from './result-images.js';

/** Any JSON value as readable text: strings as they are, the rest pretty-printed. */
export function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value, null, 2) ?? String(value);
}

export function duration(ms: number | null | undefined): string {
  if (ms == null) return '—';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export function when(iso: string): string {
  return new Date(iso).toLocaleString();
}

/** A finished execution's outcome, as text, images, JSON and structured content; an error in words. */
export function outcome(execution: ExecutionOutcomeFragment): HTMLElement {
  const box = h('div', { class: 'outcome' });
  if (execution.status === 'RUNNING') return box;
  if (execution.errorMessage) {
    box.append(h('p', { class: 'notice error', role: 'alert' }, `${execution.status}: ${execution.errorMessage}`));
    return box;
  }
  if (execution.isError) box.append(h('p', { class: 'notice error' }, 'The tool reported an error:'));
  if (execution.resultTruncated)
    box.append(
      h(
        'p',
        { class: 'hint' },
        'The result was larger than the gateway keeps with an execution, so only its summary is stored here. The caller that ran it received it whole (REST, GraphQL executeTool, /mcp).',
      ),
    );
  const text = textOf(execution.content);
  if (text !== null) box.append(h('h4', {}, 'Text'), h('pre', { class: 'result text', tabindex: 0 }, text));
  const images = imagesOf(execution.content);
  if (images.length > 0) box.append(h('h4', {}, images.length === 1 ? 'Image' : 'Images'), ...figures(images));
  if (execution.result != null && execution.result !== text) {
    const json = asText(withImagesElided(execution.result, execution.content));
    box.append(h('h4', {}, 'Result (JSON)'), h('pre', { class: 'result json', tabindex: 0 }, json));
  }
  if (execution.structuredContent != null && JSON.stringify(execution.structuredContent) !== JSON.stringify(execution.result)) {
    box.append(
      h('h4', {}, 'Structured content'),
      h('pre', { class: 'result structured', tabindex: 0 }, asText(execution.structuredContent)),
    );
  }
  return box;
}

export function statusBadge(status: string): HTMLElement {
  return h('span', { class: `badge ${status.toLowerCase()}` }, status);
}

/** The text blocks of an MCP content array, joined; null when it has none. */
function textOf(content: unknown): string | null {
  if (!Array.isArray(content)) return null;
  const texts = content
    .map((block: unknown) => block as { type?: unknown; text?: unknown } | null)
    .filter((block) => block?.type === 'text' && typeof block.text === 'string')
    .map((block) => block!.text as string);
  return texts.length > 0 ? texts.join('\n') : null;
}
