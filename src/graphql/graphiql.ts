import type { GraphiQLOptions } from 'graphql-yoga';

/**
 * GraphiQL's first document: how to get a token and where to paste it, so a
 * newcomer's first screen explains "Missing bearer token" instead of showing it.
 */
export const SIGN_IN_DOCUMENT = `# Sign in: every request to the gateway needs a token.
#
# 1. In a terminal, in the gateway's folder (the agent
#    may exist already if you followed the README):
#
# npm run agent:create -- --agent-id admin-agent-uuid --namespace admin --name "Admin Agent" --role admin
# npm run -s token -- --agent-id admin-agent-uuid
#
# 2. In the Headers tab below, put the printed token in
#    place of <token>:  "Authorization": "Bearer eyJ..."
#
# 3. Run this query (Ctrl-Enter, or the run button).
#    Docs and autocompletion appear once the token works.
#
# "Invalid token": <token> is still there, or the token
#   is wrong or expired (24 h by default).
# "Missing bearer token": the Headers tab is empty.
# "Agent is unknown or inactive": see npm run agent:create.
# Subscriptions run over SSE with the same header.

query Me {
  me {
    id
    namespace
    role
  }
  connections(first: 5) {
    totalCount
    edges {
      node {
        id
        serverName
        status
      }
    }
  }
}
`;

/** The page's options: the sign-in document, a Headers tab opened with the header to fill in. */
export function gatewayGraphiQLOptions(): GraphiQLOptions {
  return {
    title: 'TMWS Gateway',
    subscriptionsProtocol: 'SSE',
    defaultQuery: SIGN_IN_DOCUMENT,
    headers: JSON.stringify({ Authorization: 'Bearer <token>' }, null, 2),
    defaultEditorToolsVisibility: 'headers',
    // A token is a credential: not kept in the browser's storage after the tab closes.
    shouldPersistHeaders: false,
  };
}

let rendered: { key: string; html: Promise<string> } | undefined;

/**
 * Renders GraphiQL from the installed `@graphql-yoga/render-graphiql` (scripts,
 * styles and workers inlined: no CDN, so it works offline). The ~9 MB package is
 * loaded on the first page view only, and the page is built once per options.
 */
export function renderOfflineGraphiQL(options: GraphiQLOptions): Promise<string> {
  const key = JSON.stringify(options);
  if (rendered?.key !== key) {
    rendered = { key, html: import('@graphql-yoga/render-graphiql').then((m) => m.renderGraphiQL(options)) };
  }
  return rendered.html;
}
