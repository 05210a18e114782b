import { MeDocument } from '../gql/graphql.js';
import { createApi, type Api, type ApiError } from './api.js';
import type { View, ViewContext } from './context.js';
import { h, notice, replace } from './dom.js';
import { clearToken, setSignInMessage, storedToken, storeToken, takeSignInMessage } from './session.js';
import { connectionsView } from './views/connections.js';
import { executionsView } from './views/executions.js';
import { governanceView } from './views/governance.js';
import { limitsView } from './views/limits.js';
import { overviewView } from './views/overview.js';
import { searchView } from './views/search.js';
import { signInView } from './views/sign-in.js';
import { toolsView } from './views/tools.js';

/**
 * The dashboard: a signed-in shell with hash routes (#/overview, #/connections,
 * #/connections/<id>, #/executions, #/search, #/governance, #/limits). Routes live in the
 * fragment so the gateway serves one page; the token never enters a URL.
 */
const ROUTES: Record<string, { title: string; view: View; adminOnly?: boolean }> = {
  overview: { title: 'Overview', view: overviewView },
  connections: { title: 'Connections', view: connectionsView },
  executions: { title: 'Executions', view: executionsView },
  search: { title: 'Tool search', view: searchView },
  governance: { title: 'Tool governance', view: governanceView },
  limits: { title: 'Rate limits', view: limitsView, adminOnly: true },
};

const main = document.getElementById('main') as HTMLElement;
const nav = document.getElementById('nav') as HTMLElement;
/** Shown while live updates are cut off and being retried: what the page shows may be out of date. */
const connectionNotice = h('p', { class: 'notice info connection-lost', role: 'status', hidden: true });
const RECONNECTING = 'Reconnecting to the gateway… live updates are paused; what this page shows may be out of date.';
const GAVE_UP = 'Live updates stopped: the gateway could not be reached for minutes. Reload the page.';
main.before(connectionNotice);

let api: Api | undefined;
let leaving: Array<() => void> = [];
/** Counts navigations: a view still loading when the next one starts must not draw over it. */
let navigation = 0;

function leaveView(): void {
  for (const cleanup of leaving) cleanup();
  leaving = [];
}

function signOut(message: string | null): void {
  leaveView();
  // A view still loading belongs to the session that ends here: whatever it registers from now on stops at once.
  navigation++;
  api?.close();
  api = undefined;
  connectionNotice.hidden = true;
  clearToken();
  if (message) setSignInMessage(message);
  location.hash = '';
  start();
}

async function signIn(token: string): Promise<string | null> {
  const candidate = createApi(token, () => {});
  try {
    await candidate.request(MeDocument);
  } catch (error) {
    const refused = (error as ApiError).code === 'UNAUTHENTICATED';
    return refused
      ? 'The gateway refused this token: it is invalid or expired, or its agent is unknown or inactive.'
      : (error as ApiError).message;
  } finally {
    candidate.close();
  }
  storeToken(token);
  start();
  return null;
}

function start(): void {
  const token = storedToken();
  if (!token) {
    replace(nav);
    signInView(main, takeSignInMessage(), signIn);
    return;
  }
  api = createApi(token, (message) => signOut(message));
  const session = api;
  connectionNotice.hidden = true;
  session.onConnectionLost((final) => {
    connectionNotice.textContent = final ? GAVE_UP : RECONNECTING;
    connectionNotice.hidden = session !== api;
  });
  session.onLive(() => (connectionNotice.hidden = true));
  session
    .request(MeDocument)
    .then(({ me }) => {
      drawNav(me.role === 'ADMIN', me.id);
      window.onhashchange = () => void route(session, me);
      void route(session, me);
    })
    .catch((error: ApiError) => {
      if (error.code !== 'UNAUTHENTICATED') replace(main, notice('error', error.message));
    });
}

function drawNav(admin: boolean, agentId: string): void {
  const signOutButton = h('button', { type: 'button', class: 'sign-out' }, 'Sign out');
  signOutButton.addEventListener('click', () => signOut(null));
  replace(
    nav,
    h(
      'ul',
      {},
      ...Object.entries(ROUTES)
        .filter(([, route]) => admin || !route.adminOnly)
        .map(([path, route]) => h('li', {}, h('a', { href: `#/${path}`, 'data-route': path }, route.title))),
    ),
    h('span', { class: 'agent' }, agentId),
    signOutButton,
  );
}

async function route(session: Api, me: ViewContext['me']): Promise<void> {
  if (session !== api) return;
  leaveView();
  const current = ++navigation;
  const [name = 'overview', parameter] = location.hash.replace(/^#\/?/, '').split('/');
  const key = name === '' ? 'overview' : name;
  const known = ROUTES[key];
  for (const link of nav.querySelectorAll('a')) {
    if (link.dataset.route === key) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  const view = key === 'connections' && parameter ? toolsView : known?.view;
  document.title = `${known?.title ?? 'Not found'} — TMWS Gateway`;
  if (!view) {
    replace(main, h('h2', {}, 'Page not found'), h('p', {}, h('a', { href: '#/overview' }, 'Go to the overview')));
    return;
  }
  // Each navigation draws into its own element: a view that answers after the user moved on (a slow
  // overview, then a click) draws into an element no longer on the page, and its live updates stop at once.
  const root = h('div', { class: 'view' });
  replace(main, root);
  replace(root, notice('info', 'Loading…'));
  const context: ViewContext = {
    api: session,
    me,
    main: root,
    onLeave: (cleanup) => (current === navigation ? leaving.push(cleanup) : cleanup()),
  };
  try {
    await view(context, parameter ? decodeURIComponent(parameter) : undefined);
  } catch (error) {
    if ((error as ApiError).code !== 'UNAUTHENTICATED') replace(root, notice('error', (error as ApiError).message ?? String(error)));
  }
  if (current === navigation && !main.contains(document.activeElement)) main.focus({ preventScroll: true });
}

// The skip link moves the focus to the content; following its #main would be read as a route (and found nowhere).
document.querySelector('a.skip')?.addEventListener('click', (event) => {
  event.preventDefault();
  main.focus();
});

start();
