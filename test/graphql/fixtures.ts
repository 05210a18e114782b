/** Fixtures shared by the GraphQL tests, built through the API itself. */
import { CreateConnectionDocument } from '../gql/graphql.js';
import type { TestAgent, TestGateway } from '../helpers/gateway.js';
import { data } from './client.js';

/** Connects `agent` to the MCP server at `url` under `serverName` (createConnection); returns the new connection's id. */
export async function createConnection(gw: TestGateway, agent: TestAgent, serverName: string, url: string): Promise<string> {
  const created = await data(gw, CreateConnectionDocument, { input: { serverName, url } }, agent.token);
  return created.createConnection!.id;
}
