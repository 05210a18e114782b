import { SearchToolsDocument, type SearchToolsQuery } from '../../gql/graphql.js';
import type { ApiError } from '../api.js';
import type { View } from '../context.js';
import { field, h, notice, replace } from '../dom.js';
import { runForm } from '../run-tool.js';

/** Semantic tool search over the caller's live tools; any result can be run in place. */
export const searchView: View = async (context) => {
  const query = h('input', { name: 'query', type: 'search', required: true, maxlength: 1000, placeholder: 'e.g. add two numbers' });
  const results = h('div', { 'aria-live': 'polite' });
  const form = h(
    'form',
    { role: 'search', class: 'card' },
    field('What should the tool do?', query),
    h('button', { type: 'submit' }, 'Search'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (query.value.trim() === '') {
      replace(results, notice('error', 'Type what the tool should do, in plain words.'));
      return;
    }
    replace(results, notice('info', 'Searching…'));
    context.api
      .request(SearchToolsDocument, { query: query.value })
      .then((data) => replace(results, ...matches(context, data.searchTools)))
      .catch((error: ApiError) => replace(results, notice('error', error.message)));
  });
  replace(context.main, h('h2', {}, 'Tool search'), form, results);
  query.focus();
};

function matches(context: Parameters<View>[0], found: SearchToolsQuery['searchTools']): HTMLElement[] {
  if (found!.length === 0)
    return [h('p', { class: 'empty' }, 'No tool matches. Connect an MCP server first, or describe the task differently.')];
  return [
    h(
      'ol',
      { class: 'matches' },
      ...found!.map((match, index) =>
        h(
          'li',
          { class: 'card', 'data-tool': match.toolName },
          h('h3', {}, `${match.toolName} `, h('small', {}, `on ${match.serverName} — score ${match.score.toFixed(3)}`)),
          h('p', { class: 'description' }, match.description ?? 'No description.'),
          match.tool
            ? h(
                'details',
                {},
                h('summary', {}, `Run ${match.toolName}`),
                runForm(
                  context,
                  { connectionId: match.connectionId, name: match.toolName, inputSchema: match.tool.inputSchema },
                  `match-${index}`,
                ),
              )
            : h('p', { class: 'hint' }, 'This tool is gone from its server’s catalogue.'),
        ),
      ),
    ),
  ];
}
