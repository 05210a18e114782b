import type { GovernanceAuditRowFragment } from '../../gql/graphql.js';
import { h } from '../dom.js';
import { asText, when } from '../format.js';

const ACTION_WORDS: Record<GovernanceAuditRowFragment['action'], string> = {
  TOOL_APPROVED: 'approved a tool',
  TOOL_REJECTED: 'rejected a tool',
  POLICY_UPDATED: 'changed the policy',
};

/** Who did what, when: the namespace's governance audit, newest first. */
export function auditTable(entries: GovernanceAuditRowFragment[], totalCount: number): HTMLElement {
  if (entries.length === 0)
    return h('p', { class: 'empty' }, 'Nothing recorded yet. Approvals, rejections and policy changes will appear here.');
  return h(
    'table',
    { class: 'audit' },
    h('caption', {}, totalCount > entries.length ? `The latest ${entries.length} of ${totalCount}` : `${totalCount} recorded`),
    h('thead', {}, h('tr', {}, ...['When', 'Who', 'What', 'Tool', 'Details'].map((title) => h('th', { scope: 'col' }, title)))),
    h(
      'tbody',
      {},
      ...entries.map((entry) =>
        h(
          'tr',
          { 'data-audit': entry.action },
          h('td', { 'data-label': 'When' }, when(entry.createdAt)),
          h('td', { 'data-label': 'Who' }, entry.actorAgentId),
          h('td', { 'data-label': 'What' }, ACTION_WORDS[entry.action]),
          h('td', { 'data-label': 'Tool' }, entry.toolName ?? '—'),
          h('td', {}, h('details', {}, h('summary', {}, 'Details'), h('pre', { tabindex: 0 }, asText(entry.details)))),
        ),
      ),
    ),
  );
}
