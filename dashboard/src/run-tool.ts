import {
  CancelExecutionDocument,
  ExecutionRunDocument,
  StartExecutionDocument,
  type ExecutionOutcomeFragment,
  type ExecutionRowFragment,
} from '../gql/graphql.js';
import type { ApiError } from './api.js';
import type { ViewContext } from './context.js';
import { h, notice, progressBar, replace } from './dom.js';
import { duration, outcome, statusBadge } from './format.js';
import { schemaForm } from './schema-form.js';

export interface RunnableTool {
  connectionId: string;
  name: string;
  inputSchema: unknown;
}

/**
 * A tool's generated run form and its run panel: starts the execution, follows
 * it live over `executionProgress` (progress bar, status), then shows the
 * result or the error in words.
 */
export function runForm(context: ViewContext, tool: RunnableTool, idPrefix: string): HTMLElement {
  const form = schemaForm(tool.inputSchema, idPrefix);
  const run = h('button', { type: 'submit' }, `Run ${tool.name}`);
  const panel = h('div', { class: 'run-panel', 'aria-live': 'polite' });
  const element = h('form', { class: 'run-form', 'aria-label': `Run ${tool.name}` }, form.element, run, panel);
  element.addEventListener('submit', (event) => {
    event.preventDefault();
    const input = form.read();
    if ('problem' in input) {
      replace(panel, notice('error', input.problem));
      return;
    }
    run.disabled = true;
    replace(panel, notice('info', 'Starting…'));
    context.api
      .request(StartExecutionDocument, { input: { connectionId: tool.connectionId, toolName: tool.name, arguments: input.args } })
      .then((data) => {
        if (data.startExecution) follow(context, data.startExecution, panel, () => (run.disabled = false));
      })
      .catch((error: ApiError) => {
        replace(panel, notice('error', error.message));
        run.disabled = false;
      });
  });
  return element;
}

type RunState = ExecutionRowFragment & Partial<ExecutionOutcomeFragment>;

function follow(context: ViewContext, started: RunState, panel: HTMLElement, done: () => void): void {
  /** Set once Cancel was pressed: the panel is redrawn at every event, and the button stays pressed. */
  let cancelling = false;
  const cancelButton = (execution: RunState) => {
    const button = h('button', { type: 'button', class: 'danger', disabled: cancelling }, `Cancel ${execution.toolName}`);
    button.addEventListener('click', () => {
      cancelling = true;
      button.disabled = true;
      context.api.request(CancelExecutionDocument, { id: execution.id }).catch((error: ApiError) => {
        cancelling = false;
        panel.append(notice('error', error.message));
      });
    });
    return button;
  };
  const draw = (execution: RunState, progress = execution.progress, total = execution.total) => {
    replace(
      panel,
      h(
        'div',
        { class: 'run', 'data-execution': execution.id, 'data-status': execution.status },
        h(
          'p',
          {},
          statusBadge(execution.status),
          ' ',
          execution.status === 'RUNNING' ? 'running…' : `in ${duration(execution.durationMs)}`,
        ),
        progress != null || execution.status === 'RUNNING'
          ? progressBar(
              { progress, total, message: execution.progressMessage, running: execution.status === 'RUNNING' },
              `Progress of ${execution.toolName}`,
            )
          : null,
        execution.status === 'RUNNING' ? cancelButton(execution) : null,
        'result' in execution ? outcome(execution as ExecutionOutcomeFragment) : null,
      ),
    );
  };
  draw(started);
  const stop = context.api.subscribe(
    ExecutionRunDocument,
    { id: started.id },
    ({ executionProgress: event }) => {
      draw(event.execution, event.progress ?? event.execution.progress, event.total ?? event.execution.total);
      if (event.execution.status !== 'RUNNING' && event.type !== 'PROGRESS' && event.type !== 'LOG') {
        stop();
        done();
      }
    },
    (error) => {
      panel.append(notice('error', error.message));
      done();
    },
  );
  context.onLeave(stop);
}
