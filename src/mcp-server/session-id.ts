import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * What a downstream MCP session needs to continue on any gateway instance
 * (SPEC §10, no sticky routing). It travels inside the `Mcp-Session-Id`
 * itself, sealed with an HMAC of the gateway's secret key: no instance has to
 * remember a session to serve it, and a client cannot forge or alter one.
 */
export interface McpSessionState {
  /** The agent that initialized it; no other agent may use it. */
  agentId: string;
  protocolVersion: string;
  /** As declared by the client in `initialize` (the passthrough endpoint relays sampling/elicitation by it). */
  clientCapabilities: Record<string, unknown>;
  /** Epoch ms. */
  issuedAt: number;
  /** Passthrough sessions (`/mcp/connections/{id}`): the connection and the upstream session the client drives. */
  link?: { connectionId: string; upstreamSessionId?: string | undefined };
}

/** Capabilities larger than this are kept by their top-level keys only, so the header stays small. */
const MAX_CAPABILITIES_JSON = 1_024;

/** A session older than this is unknown (404): the client re-initializes, as the MCP specification prescribes. */
export const MAX_SESSION_AGE_MS = 7 * 24 * 3600 * 1000;

const VERSION = 'v1';

/** Verified session ids remembered per instance; above this the memory starts over (each id is then verified once more). */
const MAX_VERIFIED_IDS = 10_000;

/** Mints and opens session ids sealed with a key derived from the gateway secret. */
export class SessionIds {
  private readonly key: Buffer;
  /**
   * Ids whose seal checked out, with what they hold: every request of a session
   * carries the same id, and its HMAC and JSON were ~2 % of the CPU of a
   * `tools/call`. Only genuine ids are remembered (the seal is deterministic, so
   * remembering changes no answer); the age is still checked on every use.
   */
  private readonly verified = new Map<string, Readonly<McpSessionState>>();

  constructor(secretKey: string) {
    // A key of its own, so a session id can never double as a token or another sealed value.
    this.key = createHmac('sha256', secretKey).update('tmws-mcp-session-id').digest();
  }

  mint(state: Omit<McpSessionState, 'issuedAt'>, now = Date.now()): string {
    const capabilities =
      JSON.stringify(state.clientCapabilities).length <= MAX_CAPABILITIES_JSON
        ? state.clientCapabilities
        : Object.fromEntries(Object.keys(state.clientCapabilities).map((key) => [key, {}]));
    const payload = {
      a: state.agentId,
      p: state.protocolVersion,
      c: capabilities,
      t: now,
      r: randomBytes(9).toString('base64url'),
      ...(state.link ? { l: [state.link.connectionId, state.link.upstreamSessionId ?? null] } : {}),
    };
    const body = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
    return `${VERSION}.${body}.${this.sign(body)}`;
  }

  /** The state sealed in `sessionId`, or undefined when it is malformed, forged or too old. */
  open(sessionId: string, now = Date.now()): McpSessionState | undefined {
    let state = this.verified.get(sessionId);
    if (state === undefined) {
      state = this.verify(sessionId);
      if (state === undefined) return undefined;
      if (this.verified.size >= MAX_VERIFIED_IDS) this.verified.clear();
      this.verified.set(sessionId, state);
    }
    return now - state.issuedAt > MAX_SESSION_AGE_MS ? undefined : state;
  }

  /** The state sealed in `sessionId` when the seal and the JSON inside are genuine, whatever its age. */
  private verify(sessionId: string): Readonly<McpSessionState> | undefined {
    const [version, body, mac, extra] = sessionId.split('.');
    if (version !== VERSION || !body || !mac || extra !== undefined) return undefined;
    const expected = Buffer.from(this.sign(body));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    try {
      const p = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as {
        a: string;
        p: string;
        c: Record<string, unknown>;
        t: number;
        l?: [string, string | null];
      };
      const state: McpSessionState = { agentId: p.a, protocolVersion: p.p, clientCapabilities: p.c, issuedAt: p.t };
      if (p.l) state.link = Object.freeze({ connectionId: p.l[0], upstreamSessionId: p.l[1] ?? undefined });
      return Object.freeze(state);
    } catch {
      return undefined;
    }
  }

  private sign(body: string): string {
    return createHmac('sha256', this.key).update(`${VERSION}.${body}`).digest('base64url');
  }
}
