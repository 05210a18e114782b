import { OverviewDocument } from '../../gql/graphql.js';
import { h, replace } from '../dom.js';
import type { View } from '../context.js';

const WORDS: Record<string, string> = { OK: 'OK', DOWN: 'Down', DEGRADED: 'Degraded', NOT_CONFIGURED: 'Not configured' };

export const overviewView: View = async ({ api, main, me }) => {
  const data = await api.request(OverviewDocument);
  const s = data.gatewayStatus;
  const component = (name: string, status: string) =>
    h('li', { class: `component ${status.toLowerCase()}` }, h('span', {}, name), h('strong', {}, WORDS[status] ?? status));
  const noConnections = data.active!.totalCount + data.connecting!.totalCount + data.failing!.totalCount === 0;

  replace(
    main,
    h('h2', {}, 'Overview'),
    h('p', {}, `Signed in as ${me.name} (${me.id}), ${me.role === 'ADMIN' ? 'admin' : 'agent'} in namespace ${me.namespace}.`),
    h(
      'section',
      { 'aria-labelledby': 'readiness-title' },
      h('h3', { id: 'readiness-title' }, s.ready ? 'Gateway ready' : 'Gateway not ready'),
      h(
        'ul',
        { class: 'components' },
        component('Database', s.database),
        component('Redis', s.redis),
        component('Chroma (tool search)', s.chroma),
        component('Rate limiter', s.rateLimiter),
      ),
      s.degraded
        ? h('p', { class: 'notice error', role: 'status' }, 'Degraded mode: Redis cannot be reached, so every rate limit is halved.')
        : h('p', { class: 'hint' }, 'Degraded mode is off.'),
    ),
    counts('Connections', [
      ['Active', data.active!.totalCount],
      ['Connecting', data.connecting!.totalCount],
      ['Error', data.failing!.totalCount],
      ['Disconnected', data.disconnected!.totalCount],
    ]),
    noConnections ? h('p', { class: 'hint' }, 'No live connection yet: add an MCP server under Connections.') : null,
    counts('Executions', [
      ['Running', data.running!.totalCount],
      ['Completed', data.completed!.totalCount],
      ['Failed', data.failed!.totalCount],
      ['Timed out', data.timedOut!.totalCount],
      ['Cancelled', data.cancelled!.totalCount],
    ]),
  );
};

/** A titled row of numbers (a description list, so each number keeps its label for screen readers). */
function counts(title: string, entries: Array<[string, number]>): HTMLElement {
  const id = `${title.toLowerCase()}-title`;
  return h(
    'section',
    { 'aria-labelledby': id },
    h('h3', { id }, title),
    h('dl', { class: 'counts' }, ...entries.map(([label, value]) => h('div', { class: 'count' }, h('dt', {}, label), h('dd', {}, value)))),
  );
}
