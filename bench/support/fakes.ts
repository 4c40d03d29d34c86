import { createServer, Server } from 'node:http';
import { AddressInfo, Socket } from 'node:net';

export const VAULT_TOKEN = 's.bench-token';

/** A loopback HTTP server that answers 200 with a JSON body per path and counts the requests that reached it. */
export class FakeDependency {
  calls = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly server: Server) {}

  static async start(bodies: Record<string, unknown>): Promise<FakeDependency> {
    let fake: FakeDependency | undefined;
    const server = createServer((request, response) => {
      fake!.calls += 1;
      const path = (request.url ?? '/').split('?')[0];
      const known = path in bodies;
      response.writeHead(known ? 200 : 404, { 'content-type': 'application/json' });
      response.end(JSON.stringify(known ? bodies[path] : { errors: [] }));
    });
    fake = new FakeDependency(server);
    server.on('connection', (socket) => {
      fake!.sockets.add(socket);
      socket.on('close', () => fake!.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  /** Vault's sys/health (active, unsealed) and token lookup (token accepted). */
  static vault(): Promise<FakeDependency> {
    return FakeDependency.start({
      '/v1/sys/health': { initialized: true, sealed: false, standby: false, version: '1.18.3' },
      '/v1/auth/token/lookup-self': { data: { ttl: 3600, renewable: true, policies: ['default'] } },
    });
  }

  /** Ory's /health/ready (ready). */
  static ory(): Promise<FakeDependency> {
    return FakeDependency.start({ '/health/ready': { status: 'ok' } });
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
