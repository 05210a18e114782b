/**
 * Entry point of a test upstream running in its own process (see
 * spawnTestUpstream). Options arrive as JSON in TEST_UPSTREAM_OPTIONS; the
 * bound port is announced on stdout as `READY <port>`. `crash` really exits.
 */
import { startTestUpstream, type TestUpstreamOptions } from './test-upstream.js';

const options = JSON.parse(process.env.TEST_UPSTREAM_OPTIONS ?? '{}') as TestUpstreamOptions;
const upstream = await startTestUpstream({ ...options, onCrash: () => process.exit(1) });
process.stdout.write(`READY ${upstream.port}\n`);

process.on('SIGTERM', () => {
  void upstream.stop().finally(() => process.exit(0));
});
