import { ConnectionDetailDocument } from '../../gql/graphql.js';
import type { ApiError } from '../api.js';
import type { View } from '../context.js';
import { h, replace } from '../dom.js';
import { asText, statusBadge } from '../format.js';
import { runForm } from '../run-tool.js';

/** One connection's tools: description, input schema, and a run form generated from it. */
export const toolsView: View = async (context, connectionId) => {
  const { api, main } = context;
  const connection = await api.request(ConnectionDetailDocument, { id: connectionId ?? '' }).then(
    (data) => data.connection,
    (error: ApiError) => {
      // An id that names nothing (a stale link, a typo) gets the page below, not the API's sentence.
      if (error.code === 'CONNECTION_NOT_FOUND' || error.code === 'VALIDATION_ERROR') return null;
      throw error;
    },
  );
  if (!connection) {
    replace(
      main,
      h('h2', {}, 'Connection not found'),
      h('p', {}, 'It may have been removed. ', h('a', { href: '#/connections' }, 'Back to connections')),
    );
    return;
  }
  const active = connection.status === 'ACTIVE' || connection.status === 'ERROR';
  // Only the owning agent may execute (SPEC §3); an admin reads the namespace's tools but gets no form that would be refused.
  const runnable = active && connection.agentId === context.me.id;
  replace(
    main,
    h('p', {}, h('a', { href: '#/connections' }, '← Connections')),
    h('h2', {}, `Tools of ${connection.serverName}`),
    h('p', {}, statusBadge(connection.status), ' ', connection.url),
    connection.tools.length === 0
      ? h('p', { class: 'empty' }, 'This server lists no tools. Use “Refresh tools” on the Connections page after it adds some.')
      : null,
    active
      ? null
      : h('p', { class: 'notice info' }, 'This connection is not active: its tools cannot run. Create a new connection to use them.'),
    active && !runnable
      ? h('p', { class: 'notice info' }, `This connection belongs to agent ${connection.agentId}: only that agent can run its tools.`)
      : null,
    ...connection.tools.map((tool, index) =>
      h(
        'section',
        { class: 'tool card', 'data-tool': tool.name, 'aria-labelledby': `tool-${index}` },
        h('h3', { id: `tool-${index}` }, tool.title ? `${tool.title} (${tool.name})` : tool.name),
        h('p', { class: 'description' }, tool.description ?? 'No description.'),
        h('details', {}, h('summary', {}, 'Input schema'), h('pre', { tabindex: 0 }, asText(tool.inputSchema))),
        runnable ? runForm(context, { connectionId: connection.id, name: tool.name, inputSchema: tool.inputSchema }, `run-${index}`) : null,
      ),
    ),
  );
};
