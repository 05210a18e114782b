import { field, h, notice, replace } from '../dom.js';

/** Sign-in by pasting a token; `onToken` checks it against the gateway. */
export function signInView(main: HTMLElement, message: string | null, onToken: (token: string) => Promise<string | null>): void {
  const token = h('textarea', { name: 'token', rows: 4, required: true, spellcheck: 'false', autocomplete: 'off' });
  const status = h('div', { 'aria-live': 'polite' }, message ? notice('error', message) : null);
  const submit = h('button', { type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    { class: 'card sign-in', 'aria-labelledby': 'sign-in-title' },
    h('h2', { id: 'sign-in-title' }, 'Sign in'),
    h('p', {}, 'Paste an agent token. In the gateway’s folder, get one with:'),
    h('pre', { class: 'command', tabindex: 0 }, 'npm run -s token -- --agent-id <agent-id>'),
    h(
      'p',
      { class: 'hint' },
      'No agent yet? npm run agent:create -- --agent-id admin-agent-uuid --namespace admin --name "Admin Agent" --role admin. The token is kept in this tab only (sessionStorage) and is gone when you sign out or close the tab.',
    ),
    field('Token', token),
    submit,
    status,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = token.value.trim().replace(/^Bearer\s+/i, '');
    if (value === '') {
      replace(status, notice('error', 'Paste a token first.'));
      return;
    }
    submit.disabled = true;
    void onToken(value).then((problem) => {
      submit.disabled = false;
      if (problem) replace(status, notice('error', problem));
    });
  });
  replace(main, form);
  token.focus();
}
