/**
 * Starts test/helpers/gateway-child.ts as a separate process (so a test can
 * `kill -9` it) and waits until it listens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = process.cwd();
const tsxLoader = pathToFileURL(join(root, 'node_modules/tsx/dist/loader.mjs')).href;

export interface GatewayProcess {
  url: string;
  child: ChildProcess;
  /** SIGKILL, like a crash or a power cut of this process; resolves once it is gone. */
  kill(): Promise<void>;
}

export async function startGatewayProcess(env: Record<string, string>): Promise<GatewayProcess> {
  const child = spawn(process.execPath, ['--import', tsxLoader, join(root, 'test/helpers/gateway-child.ts')], {
    env: {
      PATH: process.env.PATH ?? '',
      TMWS_ENVIRONMENT: 'test',
      TMWS_API_PORT: '0',
      TMWS_LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /\{"gatewayUrl":"([^"]+)"\}/.exec(stdout);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`gateway process exited (${code}) before listening: ${stderr}`)));
  });
  return {
    url,
    child,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
