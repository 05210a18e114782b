/**
 * SPEC §13: every file of deploy/ passes the check of the tool that will read it in production —
 * systemd-analyze, nginx -t (with a certificate made by openssl now), promtool — and the alert
 * rules fire on the series that should wake someone and stay silent otherwise.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { deployedNodeFlags } from '../helpers/built-gateway.js';
import { startGateway } from '../helpers/gateway.js';
import { prepareNginx, type TestNginx } from '../helpers/nginx.js';
import { requireTool, runTool } from '../helpers/system-tools.js';

const root = process.cwd();
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe('deploy/systemd', () => {
  it('passes systemd-analyze verify, with ExecStart running the built gateway', () => {
    const systemdAnalyze = requireTool('systemd-analyze', 'systemd');
    const unit = readFileSync(join(root, 'deploy/systemd/tmws.service'), 'utf8');
    expect(unit).toMatch(/^ExecStart=\/usr\/bin\/node (--[\w-]+ )*\/opt\/tmws\/dist\/main\.js$/m);
    for (const line of [
      'NoNewPrivileges=true',
      'ProtectSystem=strict',
      'ReadWritePaths=/var/lib/tmws',
      'EnvironmentFile=/etc/tmws/tmws.env',
    ]) {
      expect(unit).toContain(line);
    }
    // Installed in /opt/tmws; here the checkout stands in for it, so the commands the units name exist.
    const dir = mkdtempSync(join(tmpdir(), 'tmws-systemd-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const units = ['tmws.service', 'tmws-backup.service', 'tmws-backup.timer'];
    for (const name of units) {
      const text = readFileSync(join(root, 'deploy/systemd', name), 'utf8')
        .replaceAll('/opt/tmws', root)
        .replaceAll('/usr/bin/node', process.execPath);
      writeFileSync(join(dir, name), text);
    }
    const verified = runTool(systemdAnalyze, ['verify', ...units.map((name) => join(dir, name))]);
    expect(verified.output).toBe('');
    expect(verified.status).toBe(0);
  });

  it('gives npm start the Node flags it gives the built gateway, so both run alike', () => {
    const flags = deployedNodeFlags(root);
    expect(flags).toContain('--no-parallel-scavenge');
    const { scripts } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const start = scripts.start?.split(/\s+/) ?? [];
    expect(start.slice(0, 2)).toEqual(['exec', 'node']);
    expect(start.slice(2, 2 + flags.length)).toEqual(flags);
  });
});

describe('deploy/nginx', () => {
  let nginx: TestNginx;
  it('passes nginx -t with a test certificate', async () => {
    nginx = await prepareNginx(['127.0.0.1:1', '127.0.0.1:2']);
    cleanups.push(() => nginx.stop());
    const checked = nginx.check();
    expect(checked.output).toMatch(/syntax is ok/);
    expect(checked.output).toMatch(/test is successful/);
    expect(checked.status).toBe(0);
  });
});

describe('deploy/prometheus', () => {
  const dir = join(root, 'deploy/prometheus');
  it('passes promtool check config and check rules', () => {
    const promtool = requireTool('promtool', 'prometheus');
    const config = runTool(promtool, ['check', 'config', 'prometheus.yml'], { cwd: dir });
    expect(config.output).toMatch(/SUCCESS: prometheus\.yml is valid/);
    expect(config.status).toBe(0);
    const rules = runTool(promtool, ['check', 'rules', 'alerts.yml'], { cwd: dir });
    expect(rules.output).toMatch(/SUCCESS: 9 rules found/);
    expect(rules.status).toBe(0);
  });

  it('fires each alert on its series and stays silent on a healthy instance (promtool test rules)', () => {
    const promtool = requireTool('promtool', 'prometheus');
    const tested = runTool(promtool, ['test', 'rules', 'alerts.test.yml'], { cwd: dir });
    expect(tested.output).toMatch(/SUCCESS/);
    expect(tested.status).toBe(0);
    // Every rule has a test, and the guide's blocked-requests rule reads the label value the limiter writes.
    const alerts = [...readFileSync(join(dir, 'alerts.yml'), 'utf8').matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
    const tests = readFileSync(join(dir, 'alerts.test.yml'), 'utf8');
    for (const alert of alerts) expect(tests).toContain(`alertname: ${alert}`);
    expect(readFileSync(join(dir, 'alerts.yml'), 'utf8')).toContain('rate_limit_requests_total{status="blocked"}');
  });

  it("fires the guide's blocked-requests alert on the series a production gateway really exports", async () => {
    const promtool = requireTool('promtool', 'prometheus');
    const gateway = await startGateway({ TMWS_ENVIRONMENT: 'production', TMWS_MCP_ALLOWED_HOSTS: '127.0.0.1' });
    cleanups.push(() => gateway.close());
    const agent = await gateway.agent('alert-agent', 'alert-ns');
    const statuses: number[] = [];
    for (let i = 0; i < 13; i++) {
      const created = await gateway.request('/api/v1/mcp/connections', {
        method: 'POST',
        token: agent.token,
        body: { server_name: `alert-${i}`, url: inject('everythingUrl') },
      });
      statuses.push(created.status);
    }
    expect(statuses.at(-1)).toBe(429);
    const scraped = await (await gateway.request('/metrics')).text();
    const blocked = scraped.split('\n').find((line) => line.startsWith('rate_limit_requests_total{') && line.includes('status="blocked"'));
    expect(blocked).toBeDefined();
    const labels = /\{(.*)\}/.exec(blocked!)![1]!;
    // The scraped label set as a series blocking 5 requests a second; Prometheus adds job and instance.
    const work = mkdtempSync(join(tmpdir(), 'tmws-promtool-'));
    cleanups.push(() => rmSync(work, { recursive: true, force: true }));
    const expected = Object.fromEntries([...labels.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    writeFileSync(
      join(work, 'real.test.yml'),
      JSON.stringify({
        rule_files: [join(dir, 'alerts.yml')],
        evaluation_interval: '1m',
        tests: [
          {
            interval: '1m',
            input_series: [{ series: `rate_limit_requests_total{job="tmws",instance="real",${labels}}`, values: '0+300x15' }],
            alert_rule_test: [
              {
                eval_time: '12m',
                alertname: 'TMWSRateLimitBlocking',
                exp_alerts: [
                  {
                    exp_labels: { severity: 'warning', job: 'tmws', instance: 'real', ...expected },
                    exp_annotations: { summary: `TMWS Gateway real blocks 5 requests/s on ${expected.endpoint}` },
                  },
                ],
              },
            ],
          },
        ],
      }),
    );
    const tested = runTool(promtool, ['test', 'rules', join(work, 'real.test.yml')]);
    expect(tested.output).toMatch(/SUCCESS/);
    expect(tested.status).toBe(0);
  });
});
