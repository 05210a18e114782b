import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** A TCP port that was free a moment ago on 127.0.0.1 (the OS picks it). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  const port = await listenOnFreePort(probe);
  await new Promise<void>((resolveClose) => probe.close(() => resolveClose()));
  return port;
}

/** Starts `server` listening on a port the OS picks on `host`; resolves with that port. */
export async function listenOnFreePort(server: Server, host = '127.0.0.1'): Promise<number> {
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolveListen());
  });
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

/** Resolves once a TCP connect to host:port succeeds; rejects after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs = 15_000, host = '127.0.0.1'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolveProbe) => {
      const socket = createConnection({ port, host });
      const done = (result: boolean): void => {
        socket.destroy();
        resolveProbe(result);
      };
      socket.setTimeout(500, () => done(false));
      socket.once('error', () => done(false));
      socket.once('connect', () => done(true));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A TCP listener that only counts connection attempts (and closes them). Used
 * to prove that a refused URL never produced a single packet to its target.
 */
export interface ConnectionCounter {
  readonly port: number;
  readonly host: string;
  /** Connections accepted so far. */
  count(): number;
  close(): Promise<void>;
}

export async function startConnectionCounter(host = '127.0.0.1'): Promise<ConnectionCounter> {
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  const port = await listenOnFreePort(server, host);
  return {
    port,
    host,
    count: () => connections,
    close: () => new Promise<void>((resolveClose) => server.close(() => resolveClose())),
  };
}

/** A TCP relay to a local port that counts what the server sends back and may rewrite or hold what the client sends. */
export interface TcpRelay {
  readonly port: number;
  /** Bytes relayed from the server to clients so far, over every connection. */
  bytesToClients(): number;
  /** What clients sent that is being held (`hold`), as text. */
  heldText(): string;
  /** Sends what was held, in order, and relays everything from now on. */
  release(): void;
  close(): Promise<void>;
}

export interface TcpRelayOptions {
  /** Applied to every chunk a client sends. */
  rewrite?: (fromClient: Buffer) => Buffer;
  /** Hold what clients send until `release()`: a server that accepted the connection but has not read yet. */
  hold?: boolean;
}

export async function startTcpRelay(targetPort: number, options: TcpRelayOptions = {}): Promise<TcpRelay> {
  const rewrite = options.rewrite ?? ((chunk: Buffer) => chunk);
  let holding = options.hold ?? false;
  const held: { target: Socket; chunk: Buffer }[] = [];
  let toClients = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const target = createConnection({ port: targetPort, host: '127.0.0.1' });
    for (const socket of [client, target]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    }
    client.on('data', (chunk: Buffer) => {
      const relayed = rewrite(chunk);
      if (holding) held.push({ target, chunk: relayed });
      else target.write(relayed);
    });
    target.on('data', (chunk: Buffer) => {
      toClients += chunk.length;
      client.write(chunk);
    });
    // Either side going away (a killed server, a closed client) ends both.
    const end = (): void => {
      client.destroy();
      target.destroy();
    };
    for (const socket of [client, target]) socket.on('error', end).on('close', end);
  });
  const port = await listenOnFreePort(server);
  return {
    port,
    bytesToClients: () => toClients,
    heldText: () => Buffer.concat(held.map(({ chunk }) => chunk)).toString('latin1'),
    release: () => {
      holding = false;
      for (const { target, chunk } of held.splice(0)) target.write(chunk);
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolveClose) => server.close(() => resolveClose()));
    },
  };
}
