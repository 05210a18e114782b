import type { ApiError } from './api.js';
import { h } from './dom.js';

/** One page of a GraphQL connection, as the list queries ask for it. */
export interface Page<N> {
  edges: ReadonlyArray<{ node: N }>;
  pageInfo: { hasNextPage: boolean; endCursor?: string | null };
}

export interface Pager {
  /** "Show more …": hidden while there is nothing further, disabled while a page is on its way. */
  readonly button: HTMLButtonElement;
  /** Reads the first page (again), or with `further` the page after those read. */
  load(further?: boolean): Promise<void>;
  /** Forgets the pages read: the next load starts from the first. The view removes its own rows. */
  reset(): void;
}

/**
 * The paging of a live list (Connections, Executions): the cursor after the
 * rows shown and the button that reads on. `read` fetches the page after
 * `after` (undefined: the first), or answers undefined when its answer came
 * too late to be drawn (the view changed meanwhile); `draw` puts the nodes in
 * the list, `further` telling a page to append from a reread of the first.
 * A reread of the first page leaves the cursor where further pages ended.
 */
export function pager<N>(
  label: string,
  read: (after: string | null | undefined) => Promise<Page<N> | undefined>,
  draw: (nodes: N[], further: boolean) => void,
  failed: (error: ApiError) => void,
): Pager {
  const button = h('button', { type: 'button', hidden: true }, label);
  /** Cursor after the rows shown. */
  let after: string | null | undefined;
  /** Pages beyond the first were read. */
  let readFurther = false;
  const load = async (further = false) => {
    const page = await read(further ? after : undefined);
    if (!page) return;
    if (further || !readFurther) {
      after = page.pageInfo.endCursor;
      button.hidden = !page.pageInfo.hasNextPage;
    }
    if (further) readFurther = true;
    draw(
      page.edges.map(({ node }) => node),
      further,
    );
  };
  button.addEventListener('click', () => {
    button.disabled = true;
    load(true)
      .catch(failed)
      .finally(() => (button.disabled = false));
  });
  return {
    button,
    load,
    reset() {
      after = undefined;
      readFurther = false;
      button.hidden = true;
    },
  };
}
