/**
 * `npm run build:dashboard`: bundles the dashboard into build/dashboard/
 * (content-hashed assets and index.html). `npm install` and `npm test` run it.
 */
import { buildDashboard } from '../dashboard/build.js';
import { DASHBOARD_BUILD } from '../dashboard/location.js';
import { parseCliArgs, type CliUsage } from './args.js';

const USAGE: CliUsage = {
  synopsis: 'npm run build:dashboard',
  summary: 'Bundles the dashboard (esbuild) into build/dashboard/, which the gateway serves at /.',
};

parseCliArgs(USAGE, {});
const built = await buildDashboard();
process.stdout.write(`dashboard: ${built.assets.join(', ')} (${(built.bytes / 1024).toFixed(1)} KiB) in ${DASHBOARD_BUILD}\n`);
