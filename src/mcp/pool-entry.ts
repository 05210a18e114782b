/** Per-connection bookkeeping of UpstreamPool: the live session, the one setup in flight, last status and catalogue. */
import type { UpstreamSession } from './session.js';
import type { UpstreamStatus, UpstreamTarget, UpstreamTool } from './types.js';

/** Who asked for a session: decides which events an (re)open reports. */
export type Origin = 'connect' | 'list' | 'call' | 'recovery';

export interface Entry {
  readonly id: string;
  target: UpstreamTarget;
  session: UpstreamSession | undefined;
  opening: Promise<UpstreamSession> | undefined;
  /** Last status reported (or implied by connect()); change detection for onStatusChanged. */
  status: UpstreamStatus | undefined;
  /** Last catalogue the pool saw; change detection for onToolsChanged. */
  tools: UpstreamTool[] | undefined;
  refreshing: Promise<void> | undefined;
  refreshAgain: boolean;
  recovery: { timer: NodeJS.Timeout | undefined } | undefined;
  disposed: boolean;
}

export function createEntry(target: UpstreamTarget): Entry {
  return {
    id: target.connectionId,
    target,
    session: undefined,
    opening: undefined,
    status: undefined,
    tools: undefined,
    refreshing: undefined,
    refreshAgain: false,
    recovery: undefined,
    disposed: false,
  };
}

/** Same upstream endpoint and credentials: the session can be reused. timeoutMs may differ. */
export function sameEndpoint(a: UpstreamTarget, b: UpstreamTarget): boolean {
  if (a === b) return true;
  if (a.url !== b.url) return false;
  const ha = a.headers;
  const hb = b.headers;
  if (ha === hb) return true;
  const ka = ha ? Object.keys(ha) : [];
  const kb = hb ? Object.keys(hb) : [];
  if (ka.length !== kb.length) return false;
  for (const key of ka) if (ha?.[key] !== hb?.[key]) return false;
  return true;
}
