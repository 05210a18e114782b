/**
 * A private nginx built from deploy/nginx/tmws.conf: the site file itself, with only what
 * differs on a test machine replaced (ports, certificate, upstream servers), inside a main
 * configuration of its own (prefix, pid, logs and temp folders in a temporary directory).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './net.js';
import { requireTool, runTool, type ToolRun } from './system-tools.js';

export const NGINX_SITE = join(process.cwd(), 'deploy/nginx/tmws.conf');

export interface TestCertificate {
  cert: string;
  key: string;
  /** PEM text of the self-signed certificate, to trust it in a client. */
  pem: string;
}

/** A self-signed certificate for 127.0.0.1 and localhost, made by openssl now. */
export function makeTestCertificate(dir: string): TestCertificate {
  const openssl = requireTool('openssl', 'openssl');
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const made = runTool(openssl, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout',
    key,
    '-out',
    cert,
  ]);
  if (made.status !== 0) throw new Error(`openssl could not make a test certificate: ${made.output}`);
  return { cert, key, pem: readFileSync(cert, 'utf8') };
}

export interface SitePorts {
  http: number;
  https: number;
}

/**
 * The site file with the test machine's values: loopback listeners on free ports, the test
 * certificate, and `upstreams` as the servers of the upstream block. `extra` lines go into the
 * HTTPS server block (a test may add a diagnostic header).
 */
export function deriveSite(
  site: string,
  ports: SitePorts,
  certificate: TestCertificate,
  upstreams: string[],
  extra: string[] = [],
): string {
  const replaced = site
    .replace(/^\s*listen \[::\]:.*$/gm, '')
    .replace(/^(\s*)listen 80;/m, `$1listen 127.0.0.1:${ports.http};`)
    .replace(/^(\s*)listen 443 (.*);/m, `$1listen 127.0.0.1:${ports.https} $2;`)
    .replace(/^(\s*)ssl_certificate\s+\S+;/m, `$1ssl_certificate ${certificate.cert};`)
    .replace(/^(\s*)ssl_certificate_key\s+\S+;/m, `$1ssl_certificate_key ${certificate.key};`)
    .replace(/^(\s*)#?\s*server 127\.0\.0\.1:\d+ (.*);\n/gm, '')
    .replace(/^(\s*)keepalive /m, `${upstreams.map((u) => `$1server ${u} max_fails=1 fail_timeout=30s;\n`).join('')}$1keepalive `)
    .replace(
      /^(\s*)server_name tmws\.example\.com;\n(\s*)ssl_certificate /m,
      (match, indent: string) => `${extra.map((l) => `${indent}${l}\n`).join('')}${match}`,
    );
  for (const needle of [`listen 127.0.0.1:${ports.https}`, certificate.cert, ...upstreams]) {
    if (!replaced.includes(needle)) throw new Error(`deploy/nginx/tmws.conf changed shape: could not place ${needle}`);
  }
  return replaced;
}

/** The main configuration around the site: everything nginx writes stays in `dir`. */
function mainConfig(dir: string): string {
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, 'temp', sub), { recursive: true });
  return [
    // As root, nginx would switch its workers to "nobody", who cannot read the private temp folder.
    process.getuid?.() === 0 ? 'user root;' : '',
    'daemon off;',
    'worker_processes 1;',
    `pid ${join(dir, 'nginx.pid')};`,
    `error_log ${join(dir, 'error.log')} warn;`,
    'events { worker_connections 1024; }',
    'http {',
    '  access_log off;',
    `  client_body_temp_path ${join(dir, 'temp/body')};`,
    `  proxy_temp_path ${join(dir, 'temp/proxy')};`,
    `  fastcgi_temp_path ${join(dir, 'temp/fastcgi')};`,
    `  uwsgi_temp_path ${join(dir, 'temp/uwsgi')};`,
    `  scgi_temp_path ${join(dir, 'temp/scgi')};`,
    `  include ${join(dir, 'tmws.conf')};`,
    '}',
    '',
  ].join('\n');
}

export interface TestNginx {
  dir: string;
  ports: SitePorts;
  certificate: TestCertificate;
  /** `nginx -t` on this configuration. */
  check(): ToolRun;
  /** Starts nginx in the foreground (a child of this process) and waits until it accepts connections. */
  start(): Promise<void>;
  /** SIGQUIT (graceful), then removes the folder. */
  stop(): Promise<void>;
}

export async function prepareNginx(upstreams: string[], extra: string[] = []): Promise<TestNginx> {
  const nginx = requireTool('nginx', 'nginx-light');
  const dir = mkdtempSync(join(tmpdir(), 'tmws-nginx-'));
  const certificate = makeTestCertificate(dir);
  const ports = { http: await freePort(), https: await freePort() };
  writeFileSync(join(dir, 'tmws.conf'), deriveSite(readFileSync(NGINX_SITE, 'utf8'), ports, certificate, upstreams, extra));
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, mainConfig(dir));
  const args = ['-p', dir, '-e', join(dir, 'error.log'), '-c', conf];
  let child: ChildProcess | undefined;
  return {
    dir,
    ports,
    certificate,
    check: () => runTool(nginx, [...args, '-t']),
    async start() {
      child = spawn(nginx, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<never>((_, reject) =>
        child!.once('exit', (code) => reject(new Error(`nginx exited (${code}): ${stderr}${readLog(dir)}`))),
      );
      await Promise.race([exited, waitForPort(ports.http)]);
    },
    async stop() {
      if (child && child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((resolve) => child!.once('exit', resolve));
        child.kill('SIGQUIT');
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function readLog(dir: string): string {
  try {
    return readFileSync(join(dir, 'error.log'), 'utf8');
  } catch {
    return '';
  }
}
