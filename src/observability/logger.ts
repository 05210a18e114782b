import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs. Secrets and upstream headers are redacted wherever they appear. */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { service: 'tmws-gateway', ...base },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ['req.headers.authorization', 'headers', '*.headers', 'secretKey', '*.secretKey', 'token'],
      censor: '[redacted]',
    },
  });
}
