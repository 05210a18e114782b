import { ApproveToolChangeDocument, RejectToolChangeDocument, type ToolReviewCardFragment } from '../../gql/graphql.js';
import type { ApiError } from '../api.js';
import type { ViewContext } from '../context.js';
import { h, notice, replace } from '../dom.js';
import { statusBadge } from '../format.js';

/**
 * The gateway's line diff (pinned → current) as a block of text lines, each
 * coloured by kind (removed / added / skipped); the "- " and "+ " prefixes stay
 * in the text, so the kind is not told by colour alone. The lines are upstream
 * text: they go in as text nodes, never as markup.
 */
export function diffBlock(diff: string): HTMLElement {
  const kindOf = (line: string) =>
    line.startsWith('- ') ? 'removed' : line.startsWith('+ ') ? 'added' : line.startsWith('…') ? 'skipped' : 'same';
  return h(
    'pre',
    { class: 'diff', tabindex: 0, 'aria-label': 'Definition diff, pinned to current' },
    ...diff.split('\n').map((line) => h('span', { class: `line ${kindOf(line)}`, 'data-kind': kindOf(line) }, line, '\n')),
  );
}

/**
 * One held tool with Approve / Reject. Both send the definition hash shown, so
 * the admin decides on exactly this definition: if the upstream changed it
 * again meanwhile the gateway refuses (TOOL_NOT_QUARANTINED) and `onStale`
 * shows the definition held now.
 */
export function reviewCard(
  context: ViewContext,
  review: ToolReviewCardFragment,
  serverName: string,
  onDecided: (review: ToolReviewCardFragment, message: string) => void,
  onStale: (message: string) => void,
): HTMLElement {
  const status = h('div', { 'aria-live': 'polite' });
  const approve = h('button', { type: 'button' }, `Approve ${review.toolName}`);
  const reject = h('button', { type: 'button', class: 'danger' }, `Reject ${review.toolName}`);
  const decide = (kind: 'approve' | 'reject') => {
    approve.disabled = reject.disabled = true;
    const variables = { connectionId: review.connectionId, toolName: review.toolName, definitionHash: review.definitionHash };
    const request =
      kind === 'approve'
        ? context.api.request(ApproveToolChangeDocument, variables).then((data) => data.approveToolChange)
        : context.api.request(RejectToolChangeDocument, variables).then((data) => data.rejectToolChange);
    request
      .then((decided) => {
        const words =
          kind === 'approve'
            ? `${serverName}/${review.toolName} approved: it is listed and callable again.`
            : `${serverName}/${review.toolName} rejected: it stays unusable until the upstream lists the pinned definition again.`;
        onDecided(decided ?? review, words);
      })
      .catch((error: ApiError) => {
        // Changed again, or decided by another admin, since it was shown: nothing was decided; show what is held now.
        if (error.code === 'TOOL_NOT_QUARANTINED')
          return onStale(`Nothing was decided: ${error.message.replace(/\.$/, '')}. Review what it holds now.`);
        replace(status, notice('error', error.message));
        approve.disabled = reject.disabled = false;
      });
  };
  approve.addEventListener('click', () => decide('approve'));
  reject.addEventListener('click', () => decide('reject'));
  const heading = `${serverName} / ${review.toolName}`;
  return h(
    'section',
    { class: 'review card', 'data-review': `${review.connectionId}/${review.toolName}`, 'aria-label': heading },
    h('h4', {}, heading, ' ', statusBadge(review.reviewState)),
    h('p', {}, 'Why it is held:'),
    h('ul', { class: 'reasons' }, ...review.reasons.map((reason) => h('li', {}, reason))),
    h(
      'p',
      { class: 'hint' },
      review.pinnedHash ? 'Pinned definition → the one the upstream lists now:' : 'Never approved; the definition the upstream lists now:',
    ),
    diffBlock(review.diff),
    h('p', { class: 'hint hash' }, `Definition hash ${review.definitionHash ?? 'unknown'}`),
    approve,
    review.reviewState === 'QUARANTINED' ? reject : null,
    status,
  );
}
