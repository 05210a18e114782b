import { RateLimitsDocument } from '../../gql/graphql.js';
import type { View } from '../context.js';
import { h, replace } from '../dom.js';
import { when } from '../format.js';

/** Admins: the rate limiter as the namespace sees it. */
export const limitsView: View = async ({ api, main, me }) => {
  if (me.role !== 'ADMIN') {
    replace(main, h('h2', {}, 'Rate limits'), h('p', { class: 'empty' }, 'Only admins of a namespace see its rate-limit statistics.'));
    return;
  }
  const { rateLimitStatistics: s } = await api.request(RateLimitsDocument);
  // Each value carries its column's title: on a narrow screen the table becomes one labelled block per operation.
  const cell = (label: string, value: string | number) => h('td', { 'data-label': label }, value);
  replace(
    main,
    h('h2', {}, `Rate limits of ${s!.namespace}`),
    h(
      'p',
      {},
      s!.enabled ? `Store: ${s!.store}.` : 'Rate limiting is off (test environment).',
      s!.degraded ? ' Degraded: limits are halved until Redis answers again.' : '',
      ` Counted by this gateway instance since ${when(s!.countingSince)}.`,
    ),
    h(
      'table',
      {},
      h('caption', {}, 'Per operation, per minute'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...[
            'Operation',
            'Limit + burst',
            'Agent window',
            'IP window',
            'Block (s)',
            'Allowed',
            'Blocked',
            'Errors',
            'Keys blocked now',
          ].map((title) => h('th', { scope: 'col' }, title)),
        ),
      ),
      h(
        'tbody',
        {},
        ...s!.buckets.map((b) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, b.name),
            cell('Limit + burst', `${b.limit} + ${b.burst}`),
            cell('Agent window', b.agentWindow),
            cell('IP window', b.ipWindow),
            cell('Block (s)', b.blockSeconds),
            cell('Allowed', b.allowed),
            cell('Blocked', b.blocked),
            cell('Errors', b.errors),
            cell('Keys blocked now', b.blockedKeys),
          ),
        ),
      ),
    ),
  );
};
