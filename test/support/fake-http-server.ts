import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo, Socket } from 'node:net';
import { onCleanup, onCleanupFirst } from './cleanup';

/** What a fake answers on one path: a status and JSON body, or never answering at all. */
export type Reply = { status: number; body?: unknown } | 'hang';
export type Route = (request: IncomingMessage) => Reply;

/**
 * A real HTTP server on loopback standing in for a dependency. It counts the
 * requests per path and keeps their query strings, so tests can assert how
 * often and how the service called it. Routes see the whole request, query
 * string included. It joins the cleanup registry when it starts.
 */
export class FakeHttpServer {
  private readonly counts = new Map<string, number>();
  private readonly searches = new Map<string, URLSearchParams[]>();
  private readonly sockets = new Set<Socket>();
  private readonly hanging = new Set<ServerResponse>();
  private readonly server: Server;
  private closing?: Promise<void>;

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
    onCleanup(`fake HTTP server ${fake.url}`, () => fake.close());
    // Before anything else stops: an app would not close while its request hangs here.
    onCleanupFirst(`requests left hanging by ${fake.url}`, () => fake.abortHanging());
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

  /** The query parameters of every request to `path`, in arrival order. */
  queries(path: string): URLSearchParams[] {
    return this.searches.get(path) ?? [];
  }

  /** Drops the connection of every request left hanging, so whoever waits on it gets an error now. */
  abortHanging(): void {
    for (const response of this.hanging) response.destroy();
    this.hanging.clear();
  }

  /** Stops the server and drops every connection; calling it again does nothing more. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      for (const socket of this.sockets) socket.destroy();
      this.server.close(() => resolve());
    });
    return this.closing;
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://fake');
    const path = url.pathname;
    this.counts.set(path, this.requests(path) + 1);
    this.searches.set(path, [...this.queries(path), url.searchParams]);
    const route = this.routes.get(path);
    const reply: Reply = route ? route(request) : { status: 404, body: { errors: [] } };
    if (reply === 'hang') {
      // Keep the connection open, never answer.
      this.hanging.add(response);
      response.on('close', () => this.hanging.delete(response));
      return;
    }
    response.writeHead(reply.status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(reply.body ?? {}));
  }
}
