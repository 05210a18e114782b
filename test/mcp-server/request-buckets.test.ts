import { describe, expect, it } from 'vitest';
import { bucketCosts, initializeParams, wantsProgress } from '../../src/mcp-server/request-buckets.js';

describe('rate-limit buckets of a POST body', () => {
  it('counts tools/call as execute and tools/list and search_tools as discover, each message of a batch', () => {
    const call = (name: string, args: Record<string, unknown> = {}) => ({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name, arguments: args },
    });
    const costs = bucketCosts([
      call('srv__echo'),
      call('call_tool', { name: 'srv__echo' }),
      call('search_tools', { query: 'x' }),
      call('call_tool', { name: 'search_tools' }),
      { jsonrpc: '2.0', id: 2, method: 'tools/list' },
      { jsonrpc: '2.0', id: 3, method: 'ping' },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
    ]);
    expect(Object.fromEntries(costs)).toEqual({ mcp_execute_tool: 2, mcp_discover_tools: 3 });
    expect(bucketCosts(null).size).toBe(0);
    expect(bucketCosts('text').size).toBe(0);
  });
});

describe('initializeParams', () => {
  it('reads the version and capabilities of an initialize request only', () => {
    const init = {
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: { roots: {} }, clientInfo: { name: 'c', version: '1' } },
    };
    expect(initializeParams(init)).toEqual({ protocolVersion: '2025-06-18', capabilities: { roots: {} } });
    expect(initializeParams([init])).toBeUndefined();
    expect(initializeParams({ ...init, id: undefined })).toBeUndefined();
    expect(initializeParams({ jsonrpc: '2.0', id: 1, method: 'tools/list' })).toBeUndefined();
  });
});

describe('wantsProgress', () => {
  it('is true only when some request carries a progress token', () => {
    const call = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x', arguments: {} } };
    expect(wantsProgress(call)).toBe(false);
    expect(wantsProgress({ ...call, params: { ...call.params, _meta: { progressToken: 0 } } })).toBe(true);
    expect(wantsProgress([call, { ...call, params: { ...call.params, _meta: { progressToken: 'p' } } }])).toBe(true);
    expect(wantsProgress(null)).toBe(false);
  });
});
