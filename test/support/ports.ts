import { createServer } from 'node:net';

/** A loopback port that was free a moment ago (nothing listens on it now). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A loopback port where nothing listens, for "connection refused". Port 1 is
 * privileged (no unprivileged process can take it) and served by nothing on
 * these machines; a port from freePort() could meanwhile be taken by any
 * process, the service under test included.
 */
export const REFUSED_PORT = 1;
