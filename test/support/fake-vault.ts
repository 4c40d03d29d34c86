import { FakeHttpServer, Reply } from './fake-http-server';

export const VAULT_TOKEN = 's.test-token-4f9c2e';

/** Bodies as Vault documents them for GET /v1/sys/health. */
export function vaultHealthBody(status: number) {
  return {
    initialized: status !== 501,
    sealed: status === 503,
    standby: status === 429 || status === 473 || status === 474,
    performance_standby: status === 473,
    replication_dr_mode: status === 472 ? 'secondary' : 'disabled',
    server_time_utc: Math.floor(Date.now() / 1000),
    version: '1.18.3',
    cluster_name: 'vault-cluster-test',
  };
}

/**
 * A loopback Vault speaking /v1/sys/health and /v1/auth/token/lookup-self.
 * `healthStatus` and `hang` can be changed while a test runs.
 */
export class FakeVault {
  healthStatus = 200;
  hang = false;

  private constructor(readonly server: FakeHttpServer) {}

  static async start(): Promise<FakeVault> {
    const server = await FakeHttpServer.start({});
    const vault = new FakeVault(server);
    server.route('/v1/sys/health', (): Reply => {
      if (vault.hang) return 'hang';
      return { status: vault.healthStatus, body: vaultHealthBody(vault.healthStatus) };
    });
    server.route('/v1/auth/token/lookup-self', (request): Reply => {
      if (vault.hang) return 'hang';
      if (request.headers['x-vault-token'] !== VAULT_TOKEN) return { status: 403, body: { errors: ['permission denied'] } };
      return { status: 200, body: { data: { ttl: 3600, renewable: true, policies: ['default', 'coffeebuddy'] } } };
    });
    return vault;
  }

  get url(): string {
    return this.server.url;
  }

  /** Requests that reached Vault, all paths together. */
  get calls(): number {
    return this.server.requests('/v1/sys/health') + this.server.requests('/v1/auth/token/lookup-self');
  }

  close(): Promise<void> {
    return this.server.close();
  }
}
