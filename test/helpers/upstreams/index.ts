/** Test MCP upstreams: in-process (`startTestUpstream`) or as a killable child process (`spawnTestUpstream`). */
export { startTestUpstream, type TestUpstream, type TestUpstreamOptions, type TestUpstreamState } from './test-upstream.js';
export { spawnTestUpstream, type SpawnedTestUpstream, type SpawnOptions } from './spawn-upstream.js';
