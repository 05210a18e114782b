import {
  ConnectionListDocument,
  ConnectionStatusChangedDocument,
  CreateConnectionDocument,
  DisconnectDocument,
  RefreshToolsDocument,
  type ConnectionRowFragment,
} from '../../gql/graphql.js';
import { ApiError } from '../api.js';
import type { View, ViewContext } from '../context.js';
import { field, h, notice, replace } from '../dom.js';
import { statusBadge, when } from '../format.js';
import { pager } from '../pager.js';

const SERVER_NAME = /^[A-Za-z0-9_-]{1,100}$/;

export const connectionsView: View = async (context) => {
  const { api, main } = context;
  const list = h('div', { id: 'connection-list' });
  const status = h('div', { 'aria-live': 'polite', tabindex: -1 });
  const failed = (error: ApiError) => replace(status, notice('error', error.message));
  // Draws with the rows below, once the first page arrives: a reread of the first page refreshes its rows
  // in place (new ones on top); further pages are appended.
  const pages = pager<ConnectionRowFragment>(
    'Show more connections',
    async (after) => (await api.request(ConnectionListDocument, { after })).connections ?? undefined,
    (connections, further) => {
      if (further) {
        for (const connection of connections) {
          if (rows.has(connection.id)) continue;
          const row = connectionRow(context, connection, status);
          tbody.append(row);
          rows.set(connection.id, row);
        }
      } else {
        for (const connection of [...connections].reverse()) upsert(connection);
      }
      show();
    },
    failed,
  );

  replace(
    main,
    h('h2', {}, 'Connections'),
    createForm(context, status, (created) => upsert(created)),
    status,
    list,
    pages.button,
  );

  const rows = new Map<string, HTMLTableRowElement>();
  const tbody = h('tbody');
  const table = h(
    'table',
    {},
    h('caption', {}, 'Your live connections (all of the namespace for admins)'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, 'Server'),
        h('th', { scope: 'col' }, 'Status'),
        h('th', { scope: 'col' }, 'URL'),
        h('th', { scope: 'col' }, 'Actions'),
      ),
    ),
    tbody,
  );
  const empty = h(
    'p',
    { class: 'empty' },
    'No connections yet. Add one with the form above: a name and the URL of an MCP server (Streamable HTTP or SSE).',
  );
  const show = () => replace(list, rows.size === 0 ? empty : table);

  const upsert = (connection: ConnectionRowFragment) => {
    const row = connectionRow(context, connection, status);
    const existing = rows.get(connection.id);
    if (existing) existing.replaceWith(row);
    else tbody.prepend(row);
    rows.set(connection.id, row);
    show();
  };

  context.onLeave(api.subscribe(ConnectionStatusChangedDocument, {}, (data) => upsert(data.connectionStatusChanged), failed));
  // Live updates started: statuses that changed before are read again; after an outage the list starts over.
  context.onLeave(
    api.onLive((afterOutage) => {
      if (afterOutage) {
        for (const row of rows.values()) row.remove();
        rows.clear();
        pages.reset();
      }
      pages.load().catch(failed);
    }),
  );
  await pages.load();
};

function connectionRow(context: ViewContext, connection: ConnectionRowFragment, status: HTMLElement): HTMLTableRowElement {
  const { api } = context;
  const actions = h('td', { class: 'actions' });
  const live = connection.status !== 'DISCONNECTED';
  const refresh = h('button', { type: 'button', disabled: !live }, 'Refresh tools');
  refresh.addEventListener('click', () => {
    refresh.disabled = true;
    api
      .request(RefreshToolsDocument, { id: connection.id })
      .then(() => replace(status, notice('ok', `Tools of ${connection.serverName} refreshed.`)))
      .catch((error: ApiError) => replace(status, notice('error', error.message)))
      .finally(() => (refresh.disabled = false));
  });
  const disconnect = h('button', { type: 'button', class: 'danger', disabled: !live }, 'Disconnect');
  disconnect.addEventListener('click', () => {
    const confirm = h('button', { type: 'button', class: 'danger' }, `Yes, disconnect ${connection.serverName}`);
    const keep = h('button', { type: 'button' }, 'Keep it');
    const question = h('span', { class: 'confirm', role: 'group', 'aria-label': 'Confirm disconnect' }, confirm, keep);
    keep.addEventListener('click', () => {
      question.replaceWith(disconnect);
      disconnect.focus();
    });
    confirm.addEventListener('click', () => {
      confirm.disabled = true;
      api
        .request(DisconnectDocument, { id: connection.id })
        .then(() => {
          replace(status, notice('ok', `${connection.serverName} disconnected.`));
          // The row is redrawn with its new status: the focus goes to the message rather than to nowhere.
          status.focus();
        })
        .catch((error: ApiError) => replace(status, notice('error', error.message)));
    });
    disconnect.replaceWith(question);
    confirm.focus();
  });
  actions.append(refresh, disconnect);
  return h(
    'tr',
    { 'data-connection': connection.id },
    h(
      'th',
      { scope: 'row' },
      h('a', { href: `#/connections/${encodeURIComponent(connection.id)}` }, connection.serverName),
      h('small', { class: 'hint' }, ` since ${when(connection.createdAt)}`),
      // An admin sees the namespace's connections: whose each one is (only its owner can run its tools).
      connection.agentId === context.me.id ? null : h('small', { class: 'hint owner' }, ` · agent ${connection.agentId}`),
    ),
    h(
      'td',
      { class: 'status', 'data-label': 'Status' },
      statusBadge(connection.status),
      connection.errorMessage ? h('small', { class: 'hint' }, ` ${connection.errorMessage}`) : null,
    ),
    h('td', { class: 'url', 'data-label': 'URL' }, connection.url),
    actions,
  );
}

function createForm({ api }: ViewContext, status: HTMLElement, onCreated: (connection: ConnectionRowFragment) => void): HTMLElement {
  const name = h('input', { name: 'serverName', type: 'text', required: true, maxlength: 100, autocomplete: 'off' });
  const url = h('input', { name: 'url', type: 'url', required: true, placeholder: 'http://127.0.0.1:3001/mcp' });
  const timeout = h('input', { name: 'timeout', type: 'number', min: 5, max: 300, value: 30 });
  const submit = h('button', { type: 'submit' }, 'Connect');
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'create-title', novalidate: true },
    h('h3', { id: 'create-title' }, 'Add a connection'),
    field('Server name', name, 'Letters, digits, - and _ (up to 100); unique among your live connections.'),
    field('MCP endpoint URL', url, 'http(s) URL of the upstream MCP server.'),
    field('Timeout (seconds)', timeout, '5 to 300.'),
    submit,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const problem = !SERVER_NAME.test(name.value)
      ? 'Server name: use 1 to 100 letters, digits, - or _.'
      : !/^https?:\/\/\S+$/i.test(url.value)
        ? 'URL: enter an http:// or https:// address.'
        : !(Number(timeout.value) >= 5 && Number(timeout.value) <= 300)
          ? 'Timeout: a number of seconds from 5 to 300.'
          : null;
    if (problem) {
      replace(status, notice('error', problem));
      return;
    }
    submit.disabled = true;
    replace(status, notice('info', `Connecting to ${url.value}…`));
    api
      .request(CreateConnectionDocument, { input: { serverName: name.value, url: url.value, timeout: Number(timeout.value) } })
      .then((data) => {
        if (data.createConnection) onCreated(data.createConnection);
        replace(status, notice('ok', `Connected: ${data.createConnection?.serverName ?? name.value}.`));
        form.reset();
      })
      .catch((error: ApiError) => replace(status, notice('error', error.message)))
      .finally(() => (submit.disabled = false));
  });
  return form;
}
