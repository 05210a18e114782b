/**
 * Small HTTP servers of the tests' own on a random loopback port, stopped hard
 * (open sockets destroyed), and the stateless Streamable HTTP shape most
 * upstream fixtures share: a fresh SDK server per request.
 */
import { createServer, type RequestListener } from 'node:http';
import type { Socket } from 'node:net';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { listenOnFreePort } from './net.js';

export interface LoopbackHttpServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** Destroys open sockets (event streams included), then closes the listener. */
  stop(): Promise<void>;
}

export async function listenOnLoopback(handler: RequestListener): Promise<LoopbackHttpServer> {
  const sockets = new Set<Socket>();
  const http = createServer(handler);
  http.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const port = await listenOnFreePort(http);
  return {
    origin: `http://127.0.0.1:${port}`,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** Serves every request with a fresh SDK server from `build` over stateless Streamable HTTP (JSON answers). */
export function statelessMcpHandler(build: () => Server): RequestListener {
  return (req, res) => {
    const server = build();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => void server.close().catch(() => undefined));
    server
      .connect(transport)
      .then(() => transport.handleRequest(req, res))
      .catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
      });
  };
}
