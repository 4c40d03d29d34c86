import { FakeHttpServer, Reply } from './fake-http-server';

/** A loopback Ory: /health/alive answers while it runs; /health/ready follows `ready`. */
export class FakeOry {
  ready = true;
  hang = false;

  private constructor(readonly server: FakeHttpServer) {}

  static async start(): Promise<FakeOry> {
    const server = await FakeHttpServer.start({});
    const ory = new FakeOry(server);
    server.route('/health/alive', (): Reply => ({ status: 200, body: { status: 'ok' } }));
    server.route('/health/ready', (): Reply => {
      if (ory.hang) return 'hang';
      return ory.ready
        ? { status: 200, body: { status: 'ok' } }
        : { status: 503, body: { errors: { database: 'unable to ping the database' } } };
    });
    return ory;
  }

  get url(): string {
    return this.server.url;
  }

  get calls(): number {
    return this.server.requests('/health/ready');
  }

  close(): Promise<void> {
    return this.server.close();
  }
}
