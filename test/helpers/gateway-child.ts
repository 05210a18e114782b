/**
 * A gateway in its own process, for tests that must `kill -9` it
 * (test/helpers/gateway-process.ts starts it). Configured like `npm start`
 * from the environment (`TMWS_EXECUTION_LEASE_TTL` shortens the execution
 * leases). Prints `{"gatewayUrl": …}` once listening.
 */
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { saveDevSecret } from '../../src/config/secret-key.js';
import { createLogger } from '../../src/observability/logger.js';

const config = loadConfig();
saveDevSecret(config.auth.secretKeyFile);
const gateway = await createApp(config, { logger: createLogger(config.logLevel) });
const url = await gateway.listen();
process.stdout.write(`${JSON.stringify({ gatewayUrl: url })}\n`);
process.on('SIGTERM', () => void gateway.close().then(() => process.exit(0)));
