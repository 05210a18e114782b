import { z } from 'zod';
import { parseOrThrow } from '../common/wire-parse.js';
import type { FieldNames } from '../errors/index.js';
import type { CreateConnectionCommand } from '../services/validation.js';

/** Where the fields of a create command are in CreateConnectionInput. */
export const CREATE_CONNECTION_FIELDS: FieldNames = {
  serverName: 'input.serverName',
  url: 'input.url',
  timeoutSeconds: 'input.timeout',
  headers: 'input.headers',
};

/** `headers` is a JSON scalar: GraphQL checked it is JSON, this checks it is an object of strings. */
const upstreamHeaders = z.record(z.string(), z.string());

export interface CreateConnectionArgs {
  serverName: string;
  url: string;
  timeout?: number | null;
  headers?: unknown;
}

/** CreateConnectionInput in the services' terms; the rules on the values are the service's. */
export function createConnectionCommand(input: CreateConnectionArgs): CreateConnectionCommand {
  const command: CreateConnectionCommand = { serverName: input.serverName, url: input.url };
  if (input.timeout !== null && input.timeout !== undefined) command.timeoutSeconds = input.timeout;
  if (input.headers !== null && input.headers !== undefined) {
    command.headers = parseOrThrow(z.object({ headers: upstreamHeaders }), { headers: input.headers }, 'input').headers;
  }
  return command;
}
