import { ConfigError, loadConfig, type Config } from '../config/env.js';
import { saveDevSecret } from '../config/secret-key.js';

/**
 * Loads the configuration for a CLI command, or exits with the problems on one
 * line. Saves a new development key first: a token signed here must verify at
 * the next start of the gateway.
 */
export function cliConfig(): Config {
  try {
    const config = loadConfig();
    saveDevSecret(config.auth.secretKeyFile);
    return config;
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message, 2);
    throw error;
  }
}

/** Prints `message` to stderr and exits non-zero. */
export function fail(message: string, code = 1): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

/** Runs a CLI entry point: one clean line on failure, no stack trace. */
export function runCli(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => fail(`error: ${error instanceof Error ? error.message : String(error)}`),
  );
}
