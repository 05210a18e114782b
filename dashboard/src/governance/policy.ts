import { SetToolPolicyDocument, type ToolPolicyFieldsFragment, type ToolPolicyInput } from '../../gql/graphql.js';
import type { ApiError } from '../api.js';
import type { ViewContext } from '../context.js';
import { field, h, nextId, notice, replace } from '../dom.js';
import { when } from '../format.js';

const ROLES = ['agent', 'admin'] as const;

/** The policy as text, for every agent of the namespace (toolPolicy is readable by all of them). */
export function policySummary(policy: ToolPolicyFieldsFragment): HTMLElement {
  const list = (values: string[], none: string) =>
    values.length === 0 ? h('span', { class: 'empty' }, none) : h('ul', {}, ...values.map((value) => h('li', {}, h('code', {}, value))));
  const rules = policy.denyAnnotations.map(
    (rule) => `${rule.annotation} = ${JSON.stringify(rule.value)} → denied to ${rule.roles.join(', ')}`,
  );
  return h(
    'dl',
    { class: 'policy' },
    h('dt', {}, 'Allowed tools'),
    h('dd', { 'data-policy': 'allow' }, list(policy.allow, 'Every tool (the allow list is empty).')),
    h('dt', {}, 'Denied tools'),
    h('dd', { 'data-policy': 'deny' }, list(policy.deny, 'None.')),
    h('dt', {}, 'Denied by annotation'),
    h('dd', { 'data-policy': 'denyAnnotations' }, list(rules, 'No rule.')),
    h('dt', {}, 'Connections per agent'),
    h(
      'dd',
      { 'data-policy': 'maxConnectionsPerAgent' },
      policy.maxConnectionsPerAgent == null ? 'No limit' : String(policy.maxConnectionsPerAgent),
    ),
    h('dt', {}, 'New tools of a known connection'),
    h('dd', { 'data-policy': 'quarantineNewTools' }, policy.quarantineNewTools ? 'Wait for an admin’s approval' : 'Usable at once'),
    h('dt', {}, 'Last changed'),
    h('dd', {}, policy.updatedAt ? `${when(policy.updatedAt)} by ${policy.updatedBy ?? 'unknown'}` : 'Never (the defaults).'),
  );
}

/** One glob per line, blank lines dropped. */
function lines(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

/**
 * The gateway names the API's fields (`deny.0`, `denyAnnotations.1.value`, `maxConnectionsPerAgent`); the form
 * names them by their labels, so the message points at the control to fix.
 */
function asFormWords(message: string): string {
  return message
    .replace(/\ballow\.(\d+)/, (_, i: string) => `Allowed tools, entry ${Number(i) + 1}:`)
    .replace(/\bdeny\.(\d+)/, (_, i: string) => `Denied tools, entry ${Number(i) + 1}:`)
    .replace(/\bdenyAnnotations\.(\d+)\.(\w+)/, (_, i: string, part: string) => `Rule ${Number(i) + 1}, ${part}:`)
    .replace(/\bmaxConnectionsPerAgent\b/, 'Max connections per agent:')
    .replace(', or null for no limit', ', or empty for no limit');
}

interface RuleRow {
  element: HTMLElement;
  read(): { annotation: string; value: unknown; roles: string[] } | string;
}

/** One "deny by annotation" rule: annotation name, the value that denies (JSON), the roles denied. */
function ruleRow(
  rule: { annotation: string; value: unknown; roles: string[] } | undefined,
  number: number,
  onRemove: (row: RuleRow) => void,
): RuleRow {
  const annotation = h('input', { type: 'text', value: rule?.annotation ?? '', placeholder: 'destructiveHint' });
  const value = h('input', { type: 'text', value: rule ? JSON.stringify(rule.value) : 'true' });
  const roles = ROLES.map((role) => {
    const box = h('input', { type: 'checkbox', id: nextId('role'), checked: rule ? rule.roles.includes(role) : role === 'agent' });
    return { role, box, element: h('label', { for: box.id, class: 'inline' }, box, ` ${role}`) };
  });
  const remove = h('button', { type: 'button', class: 'danger' }, `Remove rule ${number}`);
  const element = h(
    'fieldset',
    { class: 'rule' },
    h('legend', {}, `Rule ${number}`),
    field('Annotation', annotation, 'An MCP tool annotation, e.g. destructiveHint or openWorldHint.'),
    field('Value that denies', value, 'JSON: true, false, a number or a "string".'),
    h(
      'div',
      { class: 'roles', role: 'group', 'aria-label': `Roles denied by rule ${number}` },
      'Denied to: ',
      ...roles.map((r) => r.element),
    ),
    remove,
  );
  const row: RuleRow = {
    element,
    read() {
      let parsed: unknown;
      try {
        parsed = JSON.parse(value.value);
      } catch {
        return `Rule ${number}: the value must be JSON, e.g. true, 3 or "yes" (with quotes for text).`;
      }
      return { annotation: annotation.value.trim(), value: parsed, roles: roles.filter((r) => r.box.checked).map((r) => r.role) };
    },
  };
  remove.addEventListener('click', () => onRemove(row));
  return row;
}

/** Admins: the whole policy in a form; Save replaces it (setToolPolicy), the gateway's validation message shown in words. */
export function policyForm(
  context: ViewContext,
  policy: ToolPolicyFieldsFragment,
  onSaved: (saved: ToolPolicyFieldsFragment) => void,
): HTMLElement {
  const allow = h('textarea', { rows: 3 });
  allow.value = policy.allow.join('\n');
  const deny = h('textarea', { rows: 3 });
  deny.value = policy.deny.join('\n');
  const max = h('input', { type: 'number', min: 1, max: 10000, step: 1, value: policy.maxConnectionsPerAgent ?? '' });
  const quarantine = h('input', { type: 'checkbox', checked: policy.quarantineNewTools });
  const status = h('div', { 'aria-live': 'polite' });

  let rows: RuleRow[] = [];
  const ruleList = h('div', { class: 'rules' });
  const drawRules = () =>
    replace(
      ruleList,
      rows.length === 0
        ? h('p', { class: 'empty' }, 'No annotation rule. Add one to deny, for instance, destructive tools to agents.')
        : null,
      ...rows.map((row) => row.element),
    );
  const remove = (row: RuleRow) => {
    rows = rows.filter((other) => other !== row);
    drawRules();
  };
  rows = policy.denyAnnotations.map((rule, index) => ruleRow(rule, index + 1, remove));
  drawRules();
  const addRule = h('button', { type: 'button' }, 'Add annotation rule');
  addRule.addEventListener('click', () => {
    rows.push(ruleRow(undefined, rows.length + 1, remove));
    drawRules();
  });

  const save = h('button', { type: 'submit' }, 'Save policy');
  const form = h(
    'form',
    { class: 'card policy-form', 'aria-label': 'Edit the tool policy', novalidate: true },
    field('Allowed tools', allow, 'One server_name/tool glob per line (* any characters, ? one). Empty: every tool is allowed.'),
    field('Denied tools', deny, 'One server_name/tool glob per line. Deny wins over allow.'),
    h('fieldset', {}, h('legend', {}, 'Deny by annotation'), ruleList, addRule),
    field('Max connections per agent', max, 'A whole number from 1 to 10000; leave empty for no limit.'),
    field('New tools start quarantined', quarantine, 'A tool new to a known connection waits for an admin’s approval.'),
    save,
    status,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const rules = rows.map((row) => row.read());
    const invalid = rules.find((rule): rule is string => typeof rule === 'string');
    if (invalid) {
      replace(status, notice('error', invalid));
      return;
    }
    const limit = max.value.trim();
    if (limit !== '' && !/^\d+$/.test(limit)) {
      replace(status, notice('error', 'Max connections per agent: enter a whole number from 1 to 10000, or leave it empty for no limit.'));
      return;
    }
    const input: ToolPolicyInput = {
      allow: lines(allow.value),
      deny: lines(deny.value),
      denyAnnotations: rules as Exclude<(typeof rules)[number], string>[],
      maxConnectionsPerAgent: limit === '' ? null : Number(limit),
      quarantineNewTools: quarantine.checked,
    };
    save.disabled = true;
    context.api
      .request(SetToolPolicyDocument, { input })
      .then(({ setToolPolicy }) => {
        if (setToolPolicy) onSaved(setToolPolicy);
        replace(status, notice('ok', 'Policy saved. It applies to every door (REST, GraphQL, search, /mcp) within 5 seconds.'));
      })
      .catch((error: ApiError) => replace(status, notice('error', `The policy was not saved. ${asFormWords(error.message)}`)))
      .finally(() => (save.disabled = false));
  });
  return form;
}
