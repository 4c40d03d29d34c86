import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo, Socket } from 'node:net';

/** What a fake answers on one path: a status and JSON body, or never answering at all. */
export type Reply = { status: number; body?: unknown } | 'hang';
export type Route = (request: IncomingMessage) => Reply;

/**
 * A real HTTP server on loopback standing in for a dependency. It counts the
 * requests per path so tests can assert how often the service called it.
 */
export class FakeHttpServer {
  private readonly counts = new Map<string, number>();
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;

  private constructor(private readonly routes: Map<string, Route>) {
    this.server = createServer((request, response) => this.handle(request, response));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  static async start(routes: Record<string, Route>): Promise<FakeHttpServer> {
    const fake = new FakeHttpServer(new Map(Object.entries(routes)));
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  route(path: string, route: Route): void {
    this.routes.set(path, route);
  }

  requests(path: string): number {
    return this.counts.get(path) ?? 0;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const path = (request.url ?? '/').split('?')[0];
    this.counts.set(path, this.requests(path) + 1);
    const route = this.routes.get(path);
    const reply: Reply = route ? route(request) : { status: 404, body: { errors: [] } };
    if (reply === 'hang') return; // keep the connection open, never answer
    response.writeHead(reply.status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(reply.body ?? {}));
  }
}
