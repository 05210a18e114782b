import { pino, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export interface LoggerOptions {
  /** Fields on every line. @default { service: 'tmws-gateway' } */
  base?: Record<string, unknown>;
  /** Where the lines go. @default standard output */
  destination?: DestinationStream;
  /**
   * One coloured line per entry (pino-pretty) instead of JSON: for a person at a
   * terminal in development. Log shippers and supervisors get JSON. @default false
   */
  pretty?: boolean;
}

/** Structured JSON logs. Secrets and upstream headers are redacted wherever they appear. */
export function createLogger(level: string, options: LoggerOptions = {}): Logger {
  const settings = {
    level,
    base: { service: 'tmws-gateway', ...options.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ['req.headers.authorization', 'headers', '*.headers', 'secretKey', '*.secretKey', '*.*.secretKey', 'token'],
      censor: '[redacted]',
    },
  };
  const destination =
    options.destination ??
    (options.pretty
      ? // sync: the last lines before process.exit (shutdown, a failed start) are not lost.
        pretty({ colorize: true, sync: true, singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' })
      : undefined);
  return destination ? pino(settings, destination) : pino(settings);
}
