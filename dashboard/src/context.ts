import type { Api } from './api.js';
import type { MeQuery } from '../gql/graphql.js';

/** What every view gets: the API, the signed-in agent, and where to draw. */
export interface ViewContext {
  api: Api;
  me: MeQuery['me'];
  main: HTMLElement;
  /** Registers a clean-up (an unsubscribe) to run when the user leaves the view. */
  onLeave(cleanup: () => void): void;
}

export type View = (context: ViewContext, parameter: string | undefined) => Promise<void>;
