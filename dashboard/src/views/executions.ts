import {
  CancelExecutionDocument,
  ExecutionDetailDocument,
  ExecutionListDocument,
  ExecutionProgressDocument,
  ExecutionUpdatesDocument,
  type ExecutionRowFragment,
  type ExecutionStatus,
} from '../../gql/graphql.js';
import type { ApiError } from '../api.js';
import type { View, ViewContext } from '../context.js';
import { field, h, notice, progressBar, replace } from '../dom.js';
import { duration, outcome, statusBadge, when } from '../format.js';
import { pager } from '../pager.js';

const STATUSES: ExecutionStatus[] = ['RUNNING', 'COMPLETED', 'FAILED', 'TIMED_OUT', 'CANCELLED'];

/**
 * The audit trail, live: new executions and state changes arrive over
 * `executionUpdates`; each running one also follows `executionProgress` for its
 * progress bar, until its terminal event.
 */
export const executionsView: View = async (context) => {
  const { api, main } = context;
  const filter = h(
    'select',
    { name: 'status' },
    h('option', { value: '' }, 'Any status'),
    ...STATUSES.map((s) => h('option', { value: s }, s)),
  );
  const tool = h('input', { name: 'tool', type: 'search', placeholder: 'tool name' });
  const status = h('div', { 'aria-live': 'polite' });
  const failed = (error: ApiError) => replace(status, notice('error', error.message));
  const tbody = h('tbody');
  const table = h(
    'table',
    {},
    h('caption', {}, 'Executions, newest first'),
    h(
      'thead',
      {},
      h('tr', {}, ...['Tool', 'Status', 'Progress', 'Started', 'Duration', 'Error', 'Actions'].map((t) => h('th', { scope: 'col' }, t))),
    ),
    tbody,
  );
  const list = h('div', { id: 'execution-list' });
  const rows = new Map<string, { row: HTMLTableRowElement; execution: ExecutionRowFragment }>();
  const following = new Map<string, () => void>();

  // The status filter asks the gateway (every execution with that status, page by page); the tool filter narrows the rows shown.
  const visible = (e: ExecutionRowFragment) =>
    (filter.value === '' || e.status === filter.value) &&
    (tool.value === '' || e.toolName.toLowerCase().includes(tool.value.trim().toLowerCase()));
  const show = () => {
    for (const { row, execution } of rows.values()) row.hidden = !visible(execution);
    const any = [...rows.values()].some(({ execution }) => visible(execution));
    replace(
      list,
      any
        ? table
        : h(
            'p',
            { class: 'empty' },
            rows.size === 0 && filter.value === ''
              ? 'No executions yet. Run a tool from a connection’s page or from Tool search.'
              : pages.button.hidden
                ? 'No execution matches these filters.'
                : 'No execution matches these filters among those shown: show older ones below.',
          ),
    );
  };
  const upsert = (execution: ExecutionRowFragment, progress = execution.progress, total = execution.total) => {
    const existing = rows.get(execution.id);
    // Two streams (updates, progress) race: a late PROGRESS event never turns a finished row back to RUNNING.
    if (existing && existing.execution.status !== 'RUNNING' && execution.status === 'RUNNING') return;
    const row = executionRow(context, execution, progress, total, status);
    if (existing) existing.row.replaceWith(row);
    else tbody.prepend(row);
    rows.set(execution.id, { row, execution });
    if (execution.status === 'RUNNING') follow(execution.id);
    show();
  };
  /** Set once the user moved on: a list that answers afterwards must not open streams nobody will close. */
  let left = false;
  const follow = (id: string) => {
    if (left || following.has(id)) return;
    const stop = api.subscribe(
      ExecutionProgressDocument,
      { id },
      ({ executionProgress: event }) => {
        upsert(event.execution, event.progress ?? event.execution.progress, event.total ?? event.execution.total);
        if (event.type !== 'PROGRESS' && event.type !== 'LOG' && event.execution.status !== 'RUNNING') following.get(id)?.();
      },
      failed,
    );
    following.set(id, stop);
  };
  context.onLeave(() => {
    left = true;
    for (const stop of following.values()) stop();
  });

  /**
   * Pages for the current status filter: a reread of the newest refreshes its rows in place (new ones
   * on top), older pages are appended after the last row shown (keyset cursors: nothing repeats or
   * is skipped, however many rows arrive or change meanwhile).
   */
  const pages = pager<ExecutionRowFragment>(
    'Show older executions',
    async (after) => {
      const chosen = filter.value;
      const data = await api.request(ExecutionListDocument, { status: chosen === '' ? undefined : (chosen as ExecutionStatus), after });
      // The filter changed while this page was on its way: it is not drawn.
      return chosen === filter.value ? (data.executions ?? undefined) : undefined;
    },
    (executions, older) => {
      if (older) {
        for (const execution of executions) if (!rows.has(execution.id)) append(execution);
      } else {
        for (const execution of [...executions].reverse()) upsert(execution);
      }
      show();
    },
    failed,
  );
  /** Forgets the rows shown (another status, or an outage of unknown length): the next load starts from the newest. */
  const reset = () => {
    for (const { row } of rows.values()) row.remove();
    rows.clear();
    pages.reset();
  };
  const append = (execution: ExecutionRowFragment) => {
    const row = executionRow(context, execution, execution.progress, execution.total, status);
    tbody.append(row);
    rows.set(execution.id, { row, execution });
    if (execution.status === 'RUNNING') follow(execution.id);
  };
  filter.addEventListener('change', () => {
    // Another status: the rows of the old one go, the newest of the new one are read.
    reset();
    pages.load().catch(failed);
  });
  tool.addEventListener('input', show);
  replace(
    main,
    h('h2', {}, 'Executions'),
    h('div', { class: 'filters', role: 'group', 'aria-label': 'Filters' }, field('Status', filter), field('Tool', tool)),
    status,
    list,
    pages.button,
  );
  context.onLeave(
    api.subscribe(
      ExecutionUpdatesDocument,
      {},
      ({ executionUpdates: event }) => {
        // Progress goes to the per-execution stream; here only what changes a row's state.
        if (event.type !== 'PROGRESS' && event.type !== 'LOG') upsert(event.execution);
      },
      failed,
    ),
  );
  // Live updates started: what happened before is read again. After an outage (any number of executions
  // meanwhile) the list starts over from the newest; when the view opens, the newest page is merged.
  context.onLeave(
    api.onLive((afterOutage) => {
      if (afterOutage) reset();
      pages.load().catch(failed);
    }),
  );
  await pages.load();
};

/** The result, read when the user opens it (a list of results could be large). */
function resultDetails(api: ViewContext['api'], id: string): HTMLElement {
  const body = h('div', {}, notice('info', 'Loading…'));
  const details = h('details', {}, h('summary', {}, 'Result'), body);
  details.addEventListener(
    'toggle',
    () => {
      api
        .request(ExecutionDetailDocument, { id })
        .then(({ execution }) => replace(body, execution ? outcome(execution) : notice('error', 'This execution is gone.')))
        .catch((error: ApiError) => replace(body, notice('error', error.message)));
    },
    { once: true },
  );
  return details;
}

function executionRow(
  { api }: ViewContext,
  execution: ExecutionRowFragment,
  progress: number | null | undefined,
  total: number | null | undefined,
  status: HTMLElement,
): HTMLTableRowElement {
  const actions = h('td', { class: 'actions' });
  if (execution.status === 'RUNNING') {
    const cancel = h('button', { type: 'button', class: 'danger' }, 'Cancel');
    cancel.addEventListener('click', () => {
      cancel.disabled = true;
      api
        .request(CancelExecutionDocument, { id: execution.id })
        .then(() => replace(status, notice('ok', `Cancel requested for ${execution.toolName}.`)))
        .catch((error: ApiError) => {
          replace(status, notice('error', error.message));
          cancel.disabled = false;
        });
    });
    actions.append(cancel);
  } else {
    actions.append(resultDetails(api, execution.id));
  }
  const running = execution.status === 'RUNNING';
  return h(
    'tr',
    { 'data-execution': execution.id, 'data-status': execution.status },
    h('th', { scope: 'row' }, execution.toolName, h('small', { class: 'hint' }, ` on ${execution.connection.serverName}`)),
    h('td', { 'data-label': 'Status' }, statusBadge(execution.status)),
    h(
      'td',
      { 'data-label': 'Progress' },
      running || progress != null
        ? progressBar({ progress, total, message: execution.progressMessage, running }, `Progress of ${execution.toolName}`)
        : '—',
    ),
    h('td', { 'data-label': 'Started' }, when(execution.startedAt)),
    h('td', { 'data-label': 'Duration' }, running ? 'running' : duration(execution.durationMs)),
    h(
      'td',
      { class: 'error', ...(execution.errorMessage || execution.isError ? { 'data-label': 'Error' } : {}) },
      execution.errorMessage ?? (execution.isError ? 'The tool reported an error' : ''),
    ),
    actions,
  );
}
