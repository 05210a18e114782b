/**
 * Tool names on the aggregated `/mcp` endpoint (SPEC §11), within SEP-986 as the
 * MCP specification (2025-11-25) ships it: 1–128 characters of A–Z, a–z, 0–9,
 * `_`, `-` and `.`, case-sensitive.
 */

/** SEP-986: the whole name, as the SDK's own validator checks it. */
const SEP_986_NAME = /^[A-Za-z0-9._-]{1,128}$/;

/** Between the connection's `server_name` and the upstream tool name. */
export const NAME_SEPARATOR = '__';

export const MAX_TOOL_NAME_LENGTH = 128;

/** Whether `name` is a valid tool name under SEP-986. */
export function isValidToolName(name: string): boolean {
  return SEP_986_NAME.test(name);
}

/** `<server_name>__<tool>`; validity is checked separately (see aggregateCatalogue). */
export function aggregatedToolName(serverName: string, toolName: string): string {
  return `${serverName}${NAME_SEPARATOR}${toolName}`;
}
