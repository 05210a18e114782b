import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/observability/logger.js';
import { findFreePort, startLocalChroma, type ChromaEndpoint } from '../../src/vectors/chroma-server.js';

/**
 * A private Chroma (from the npm binding) in its own temporary folder, for tests
 * that kill it, restart it, or rebuild (and so drop) every tool-index collection.
 * Automatic restarts are off so an outage lasts exactly as long as the test wants.
 */
export interface ChromaTestServer {
  readonly url: string;
  readonly port: number;
  readonly path: string;
  /** Pid of the current server process; undefined while it is down. */
  readonly pid: number | undefined;
  /** SIGKILL by pid: Chroma vanishes mid-flight, like a crash. */
  kill(): Promise<void>;
  /** Starts Chroma again on the same port and data folder (after `kill()`). */
  restart(): Promise<void>;
  /** Stops it for good and removes the data folder. */
  stop(): Promise<void>;
}

export async function startChromaTestServer(): Promise<ChromaTestServer> {
  const path = mkdtempSync(join(tmpdir(), 'tmws-chroma-test-'));
  const host = '127.0.0.1';
  const port = await findFreePort(host);
  const logger = createLogger('silent');
  const launch = () => startLocalChroma({ path, logger, host, port, restartOnExit: false });
  let endpoint: ChromaEndpoint = await launch();

  return {
    url: endpoint.url,
    port,
    path,
    get pid() {
      return endpoint.pid;
    },
    async kill() {
      const pid = endpoint.pid;
      if (pid === undefined) return;
      process.kill(pid, 'SIGKILL');
      // Wait until the port stops answering so the next request really fails.
      for (let i = 0; i < 100 && endpoint.pid !== undefined; i++) await new Promise((r) => setTimeout(r, 20));
    },
    async restart() {
      endpoint = await launch();
    },
    async stop() {
      await endpoint.stop();
      rmSync(path, { recursive: true, force: true });
    },
  };
}
