import { parseArgs, type ParseArgsConfig } from 'node:util';
import { fail } from './shared.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** What `--help` prints: the command line, then one line per option. */
export interface CliUsage {
  /** e.g. `npm run token -- --agent-id ID [--ttl 24h]` */
  synopsis: string;
  /** One sentence: what the command does. */
  summary: string;
  /** `[flag, explanation]` pairs, in the order a reader needs them. */
  flags?: [string, string][];
}

/** Renders the usage text; `--help` always comes last. */
export function formatUsage(usage: CliUsage): string {
  const flags: [string, string][] = [...(usage.flags ?? []), ['--help, -h', 'print this help and exit']];
  const width = Math.max(...flags.map(([flag]) => flag.length));
  const lines = flags.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`);
  return `usage: ${usage.synopsis}\n\n${usage.summary}\n\noptions:\n${lines.join('\n')}\n`;
}

/**
 * Parses a command's flags strictly: `--help`/`-h` prints the usage and exits 0,
 * an unknown flag or a stray argument exits 2 with one line naming it.
 */
export function parseCliArgs<T extends Options>(usage: CliUsage, options: T, args = process.argv.slice(2)) {
  type Config = { args: string[]; options: T; strict: true; allowPositionals: false };
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(formatUsage(usage));
    process.exit(0);
  }
  try {
    return parseArgs<Config>({ args, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    fail(`${error instanceof Error ? error.message : String(error)} (see --help)`, 2);
  }
}
