import { field, h } from './dom.js';

/**
 * A run form generated from a tool's input schema (JSON Schema, as the
 * upstream sent it — untrusted): one labelled control per top-level property.
 * Strings (and enums) get a text box (or a list), numbers a number box,
 * booleans a checkbox (an optional one without a default: unset, true or
 * false), anything else a JSON text area. The gateway validates
 * the arguments again against the full schema; this form only helps.
 */
interface PropertySchema {
  type?: unknown;
  description?: unknown;
  enum?: unknown;
  default?: unknown;
  title?: unknown;
}

type Reader = () => { value?: unknown; problem?: string };

export interface SchemaForm {
  element: HTMLElement;
  /** The arguments, or the first problem in words. */
  read(): { args: Record<string, unknown> } | { problem: string };
}

const asText = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

export function schemaForm(schema: unknown, idPrefix: string): SchemaForm {
  const root = (typeof schema === 'object' && schema !== null ? schema : {}) as { properties?: unknown; required?: unknown };
  const properties =
    typeof root.properties === 'object' && root.properties !== null
      ? Object.entries(root.properties as Record<string, PropertySchema>)
      : [];
  const required = new Set(Array.isArray(root.required) ? root.required.filter((r): r is string => typeof r === 'string') : []);
  const readers: Array<[string, Reader]> = [];
  const element = h('div', { class: 'schema-form' });
  if (properties.length === 0) element.append(h('p', { class: 'hint' }, 'This tool takes no arguments.'));

  for (const [name, property] of properties) {
    const spec = typeof property === 'object' && property !== null ? property : {};
    const label = `${asText(spec.title) ?? name}${required.has(name) ? ' (required)' : ''}`;
    const hint = asText(spec.description);
    const id = `${idPrefix}-${name.replace(/[^\w-]/g, '_')}`;
    const { control, read } = controlFor(spec, id, required.has(name), name);
    element.append(field(label, control, hint));
    readers.push([name, read]);
  }

  return {
    element,
    read() {
      const args: Record<string, unknown> = {};
      for (const [name, read] of readers) {
        const { value, problem } = read();
        if (problem) return { problem };
        if (value !== undefined) args[name] = value;
      }
      return { args };
    },
  };
}

function controlFor(
  spec: PropertySchema,
  id: string,
  isRequired: boolean,
  name: string,
): { control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement; read: Reader } {
  const type: unknown = Array.isArray(spec.type) ? (spec.type as unknown[]).find((t) => t !== 'null') : spec.type;
  const missing = () => (isRequired ? { problem: `“${name}” is required.` } : {});

  const choices = Array.isArray(spec.enum) && spec.enum.every((v): v is string => typeof v === 'string') ? spec.enum : null;
  if (choices) {
    const select = h('select', { id, name }, isRequired ? null : h('option', { value: '' }, '(none)'));
    for (const option of choices) select.append(h('option', { value: option }, option));
    if (typeof spec.default === 'string') select.value = spec.default;
    return { control: select, read: () => (select.value === '' ? missing() : { value: select.value }) };
  }
  if (type === 'boolean' && !isRequired && typeof spec.default !== 'boolean') {
    // Optional, no default: a checkbox left alone would send false; unset sends nothing, and the tool decides.
    const select = h(
      'select',
      { id, name },
      h('option', { value: '' }, '(none)'),
      h('option', { value: 'true' }, 'true'),
      h('option', { value: 'false' }, 'false'),
    );
    return { control: select, read: () => (select.value === '' ? {} : { value: select.value === 'true' }) };
  }
  if (type === 'boolean') {
    const box = h('input', { id, name, type: 'checkbox' });
    box.checked = spec.default === true;
    return { control: box, read: () => ({ value: box.checked }) };
  }
  if (type === 'number' || type === 'integer') {
    const input = h('input', { id, name, type: 'number', step: type === 'integer' ? 1 : 'any', inputmode: 'decimal' });
    if (typeof spec.default === 'number') input.value = String(spec.default);
    return {
      control: input,
      read: () => {
        if (input.value.trim() === '') return missing();
        const value = Number(input.value);
        if (!Number.isFinite(value)) return { problem: `“${name}” must be a number.` };
        if (type === 'integer' && !Number.isInteger(value)) return { problem: `“${name}” must be a whole number.` };
        return { value };
      },
    };
  }
  if (type === 'string') {
    const input = h('input', { id, name, type: 'text', autocomplete: 'off' });
    if (typeof spec.default === 'string') input.value = spec.default;
    return { control: input, read: () => (input.value === '' ? missing() : { value: input.value }) };
  }
  const area = h('textarea', { id, name, rows: 3, spellcheck: 'false', placeholder: 'JSON, e.g. {"key": "value"}' });
  if (spec.default !== undefined) area.value = JSON.stringify(spec.default);
  return {
    control: area,
    read: () => {
      if (area.value.trim() === '') return missing();
      try {
        return { value: JSON.parse(area.value) as unknown };
      } catch {
        return { problem: `“${name}” is not valid JSON.` };
      }
    },
  };
}
