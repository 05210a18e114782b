/**
 * A gateway in its own process, for tests that must `kill -9` it
 * (test/helpers/gateway-process.ts starts it). Configured like `npm start`
 * from the environment; `TEST_EXECUTION_LEASE` (JSON, ExecutionLeaseOptions)
 * shortens the execution leases. Prints `{"gatewayUrl": …}` once listening.
 */
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { saveDevSecret } from '../../src/config/secret-key.js';
import { createLogger } from '../../src/observability/logger.js';
import type { ExecutionLeaseOptions } from '../../src/services/execution-leases.js';

const config = loadConfig();
saveDevSecret(config.auth.secretKeyFile);
const lease = process.env.TEST_EXECUTION_LEASE;
const gateway = await createApp(config, {
  logger: createLogger(config.logLevel),
  executionLease: lease ? (JSON.parse(lease) as Partial<ExecutionLeaseOptions>) : undefined,
});
const url = await gateway.listen();
process.stdout.write(`${JSON.stringify({ gatewayUrl: url })}\n`);
process.on('SIGTERM', () => void gateway.close().then(() => process.exit(0)));
