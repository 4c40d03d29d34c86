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
 * What Vault answers to `sys/health` with the query it received, as
 * `http/sys_health.go` does: `standbyok=true` turns a standby's 429 into
 * 200, `perfstandbyok=true` a performance standby's 473 into 200; every
 * other code stays as it is.
 */
export function vaultHealthAnswer(status: number, query: URLSearchParams): number {
  if (status === 429 && query.get('standbyok') === 'true') return 200;
  if (status === 473 && query.get('perfstandbyok') === 'true') return 200;
  return status;
}

/**
 * A loopback Vault speaking /v1/sys/health and /v1/auth/token/lookup-self.
 * `healthStatus` is the node's state, as the code it answers without query
 * parameters (429 a standby, 473 a performance standby, 503 sealed...);
 * the answer also depends on the query, as Vault's does. `healthStatus` and
 * `hang` can be changed while a test runs.
 */
export class FakeVault {
  healthStatus = 200;
  hang = false;

  private constructor(readonly server: FakeHttpServer) {}

  static async start(): Promise<FakeVault> {
    const server = await FakeHttpServer.start({});
    const vault = new FakeVault(server);
    server.route('/v1/sys/health', (request): Reply => {
      if (vault.hang) return 'hang';
      const status = vaultHealthAnswer(vault.healthStatus, new URL(request.url ?? '/', vault.url).searchParams);
      return { status, body: vaultHealthBody(vault.healthStatus) };
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

  /** The query parameters of every sys/health request, in arrival order. */
  get healthQueries(): URLSearchParams[] {
    return this.server.queries('/v1/sys/health');
  }

  /** Requests that reached Vault, all paths together. */
  get calls(): number {
    return this.server.requests('/v1/sys/health') + this.server.requests('/v1/auth/token/lookup-self');
  }

  close(): Promise<void> {
    return this.server.close();
  }
}
