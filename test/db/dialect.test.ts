/** Guards the two-dialect set-up itself: a project that claims PostgreSQL really runs its gateways on it. */
import { describe, expect, it } from 'vitest';
import { testDialect } from '../helpers/database.js';
import { startGateway } from '../helpers/gateway.js';

describe('test database dialect', () => {
  it('starts gateways on the dialect of the running project', async () => {
    const gw = await startGateway();
    try {
      expect(gw.config.database.target.driver).toBe(testDialect());
      const created = await gw.request('/health/ready');
      expect((await created.json()).components.database).toBe('ok');
    } finally {
      await gw.close();
    }
  });
});
