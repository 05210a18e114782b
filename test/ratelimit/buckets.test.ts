import { describe, expect, it } from 'vitest';
import { bucketRules } from '../../src/ratelimit/buckets.js';

describe('bucketRules', () => {
  it('holds the production table of SPEC §5', () => {
    expect(bucketRules('production', 1)).toEqual({
      mcp_create_connection: { limit: 10, burst: 2, blockSeconds: 300, periodSeconds: 60 },
      mcp_discover_tools: { limit: 50, burst: 10, blockSeconds: 60, periodSeconds: 60 },
      mcp_execute_tool: { limit: 100, burst: 20, blockSeconds: 60, periodSeconds: 60 },
      mcp_disconnect: { limit: 20, burst: 5, blockSeconds: 60, periodSeconds: 60 },
    });
  });

  it('holds the development table and scales it', () => {
    expect(bucketRules('development', 1).mcp_execute_tool).toMatchObject({ limit: 200, burst: 50 });
    expect(bucketRules('development', 1000).mcp_execute_tool).toMatchObject({ limit: 200_000, burst: 50_000, blockSeconds: 60 });
    expect(bucketRules('development', 0.01).mcp_create_connection).toMatchObject({ limit: 1, burst: 0 });
  });

  it('ignores the scale in production', () => {
    expect(bucketRules('production', 50)).toEqual(bucketRules('production', 1));
  });
});
