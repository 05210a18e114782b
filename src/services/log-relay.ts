import type { LogEntry } from '../mcp/types.js';

/**
 * Upstream log messages of one execution, relayed as `LOG` events (SPEC §14:
 * bounded like progress, ≤ 10 per second). Unlike progress, log lines are not
 * a "latest value": coalescing would keep a line that says nothing of the
 * ones it replaced, so lines past the budget are dropped and counted, never
 * queued. Publish-only: nothing is stored.
 */

/** Log events per execution per second. @default 10 */
export const LOG_EVENTS_PER_SECOND = 10;
/** Longest rendered log message; longer ones are cut with an ellipsis. @default 4 KiB */
export const LOG_MESSAGE_MAX_CHARS = 4096;

export class LogRelay {
  private windowStart = Number.NEGATIVE_INFINITY;
  private inWindow = 0;
  private closed = false;
  /** Messages dropped over the budget (the owner logs the count once, at the end). */
  dropped = 0;

  constructor(
    private readonly deliver: (message: string) => void,
    private readonly perSecond = LOG_EVENTS_PER_SECOND,
  ) {}

  push(entry: LogEntry): void {
    if (this.closed) return;
    const now = Date.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.inWindow = 0;
    }
    if (this.inWindow >= this.perSecond) {
      this.dropped += 1;
      return;
    }
    this.inWindow += 1;
    this.deliver(renderLogEntry(entry));
  }

  /** Accepts nothing more (the execution reached its terminal state). */
  close(): void {
    this.closed = true;
  }
}

/** `[level] logger: data`, data as is when a string, else as JSON; at most LOG_MESSAGE_MAX_CHARS. */
export function renderLogEntry(entry: LogEntry): string {
  let data: string;
  if (typeof entry.data === 'string') data = entry.data;
  else {
    try {
      data = JSON.stringify(entry.data) ?? String(entry.data);
    } catch {
      data = String(entry.data);
    }
  }
  const text = `[${entry.level}] ${entry.logger ? `${entry.logger}: ` : ''}${data}`;
  return text.length > LOG_MESSAGE_MAX_CHARS ? `${text.slice(0, LOG_MESSAGE_MAX_CHARS - 1)}…` : text;
}
