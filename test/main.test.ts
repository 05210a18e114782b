/**
 * `npm start` as a newcomer runs it: the human start-up lines, and stopping the
 * process by its pid stops the gateway and its local Chroma child (no orphans).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'tmws-start-'));
let npm: ChildProcess;
let stdout = '';
let stderr = '';
let baseUrl = '';

/** Polls `condition` every 50 ms until it holds or `timeoutMs` passes. */
async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\nstdout:\n${stdout}\nstderr:\n${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid a local Chroma logged in `output` when it became ready. */
function chromaPidIn(output: string): number | undefined {
  const line = output.split('\n').find((l) => l.includes('"chroma ready"'));
  return (JSON.parse(line ?? '{}') as { pid?: number }).pid;
}

/** The pid the first gateway's local Chroma logged when it became ready. */
function chromaPid(): number {
  return chromaPidIn(stdout) ?? 0;
}

/**
 * `npm start` in a development gateway with nothing configured but its own folder (`dir/<folder>`) and a port;
 * local Chroma included.
 */
function npmStart(folder: string, port: string): ChildProcess {
  return spawn('npm', ['start'], {
    cwd: process.cwd(),
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? dir,
      TMWS_API_PORT: port,
      TMWS_DATA_DIR: join(dir, folder),
      TMWS_DATABASE_URL: `sqlite:///${join(dir, folder, 'tmws.db')}`,
      TMWS_CHROMA_PATH: join(dir, folder, 'chroma'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

beforeAll(async () => {
  npm = npmStart('data', '0');
  npm.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  npm.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await until(() => /listening on (http:\/\/\S+)/.test(stderr) && chromaPid() > 0, 80_000, 'the start-up lines');
  baseUrl = /listening on (http:\/\/\S+)/.exec(stderr)![1]!;
});
afterAll(() => {
  if (npm.exitCode === null) npm.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('npm start', () => {
  it('tells a person where it listens, where GraphiQL is, what to run next and what development relaxes', async () => {
    expect(stderr).toMatch(/TMWS Gateway listening on http:\/\/127\.0\.0\.1:\d+ \(development, SQLite /);
    expect(stderr).toContain(`GraphiQL:  ${baseUrl}/graphql`);
    expect(stderr).toMatch(/Headers tab/);
    expect(stderr).toMatch(/data\/secret\.key was just created/);
    expect(stderr).toContain('Next:      npm run agent:create -- --agent-id admin-agent-uuid');
    expect(stderr).toContain('TOKEN=$(npm run -s token -- --agent-id admin-agent-uuid)');
    const relaxed = stderr.split('\n').filter((line) => line.includes('development mode relaxes'));
    expect(relaxed).toHaveLength(1);
    expect(relaxed[0]).toMatch(
      /secret key generated .*GraphiQL and introspection on.*upstream MCP servers allowed on 127\.0\.0\.0\/8, ::1, localhost/,
    );
    expect(relaxed[0]).toMatch(/For production: TMWS_ENVIRONMENT=production TMWS_SECRET_KEY=/);
    expect((await fetch(`${baseUrl}/health`)).status).toBe(200);
    // Standard output stays JSON lines (not a terminal): one object per line.
    for (const line of stdout.split('\n').filter((l) => l.startsWith('{'))) expect(() => JSON.parse(line)).not.toThrow();
  });

  it('a second npm start on the same port says the port is taken and how to choose another, and leaves no Chroma behind', async () => {
    const port = new URL(baseUrl).port;
    const second = npmStart('second', port);
    let out = '';
    let err = '';
    second.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    second.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => second.once('exit', resolve));
    expect(code).toBe(1);
    expect(err).toContain(
      `127.0.0.1:${port} is already in use (another gateway running?): stop it, or choose another port with TMWS_API_PORT`,
    );
    const chroma = chromaPidIn(out);
    if (chroma !== undefined) await until(() => !alive(chroma), 15_000, `the second start's chroma (pid ${chroma}) to stop`);
    expect((await fetch(`${baseUrl}/health`)).status).toBe(200);
  });

  it('stops the gateway and its Chroma child when the npm process gets SIGTERM', async () => {
    const chroma = chromaPid();
    expect(alive(chroma)).toBe(true);
    npm.kill('SIGTERM');
    await until(() => npm.exitCode !== null || npm.signalCode !== null, 30_000, 'npm to exit');
    await until(() => !alive(chroma), 15_000, `chroma (pid ${chroma}) to stop`);
    await until(() => /"msg":"stopped"/.test(stdout), 15_000, 'the gateway to log "stopped"');
    const refused = await fetch(`${baseUrl}/health`).then(
      () => false,
      () => true,
    );
    expect(refused).toBe(true);
  });
});
