import { Lifecycle } from '../../src/runtime/lifecycle';
import { REFUSED_PORT } from '../support/ports';
import { FakeOry } from '../support/fake-ory';
import { isolatedKafkaEnv } from '../support/kafka';
import { VAULT_DOWN_CODES, VAULT_UP_CODES } from '../support/vault-codes';
import { testTimeout, waitFor } from '../support/wait';
import { FakeVault, VAULT_TOKEN } from '../support/fake-vault';
import { startTestApp, TestApp } from '../support/test-app';

async function get(url: string): Promise<{ status: number; body: any; ms: number }> {
  const started = performance.now();
  const response = await fetch(url);
  const text = await response.text();
  return { status: response.status, body: text.startsWith('{') ? JSON.parse(text) : text, ms: performance.now() - started };
}

describe('health probes over HTTP against loopback Vault and Ory', () => {
  let vault: FakeVault;
  let ory: FakeOry;
  let service: TestApp | undefined;

  beforeEach(async () => {
    vault = await FakeVault.start();
    ory = await FakeOry.start();
  });

  afterEach(async () => {
    // Fakes first: a request left hanging there would hold the app's close.
    await Promise.all([vault.close(), ory.close()]);
    await service?.close();
    service = undefined;
  });

  const start = (env: Record<string, string | undefined> = {}) =>
    startTestApp({
      env: {
        VAULT_ADDR: vault.url,
        VAULT_TOKEN,
        ORY_BASE_URL: ory.url,
        COFFEEBUDDY_HEALTH_CACHE_TTL_MS: '0',
        ...env,
      },
    }).then((app) => (service = app));

  it('is ready when Vault, Ory and Kafka are up', async () => {
    const { url } = await start(isolatedKafkaEnv());
    const ready = await waitFor(async () => {
      const answer = await get(`${url}/health/ready`);
      return answer.status === 200 && answer;
    }, 'readiness with the real broker', 45000);
    expect(ready.body).toMatchObject({
      status: 'ok',
      info: { vault: { status: 'up' }, ory: { status: 'up' }, kafka: { status: 'up' } },
      error: {},
    });
    expect(JSON.stringify(ready.body)).not.toContain(VAULT_TOKEN);
  }, testTimeout(45000));

  it.each(VAULT_UP_CODES)('counts a Vault node whose sys/health state is %i as up', async (code) => {
    vault.healthStatus = code;
    const { url } = await start();
    const ready = await get(`${url}/health/ready`);
    expect(ready.body.info.vault).toMatchObject({ status: 'up' });
    expect(Object.keys(ready.body.error)).toEqual(['kafka']);
  });

  it.each(VAULT_DOWN_CODES)('reports Vault sys/health %i as down: %s', async (code, reason) => {
    vault.healthStatus = code;
    const { url } = await start();
    const ready = await get(`${url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(ready.body.status).toBe('error');
    expect(ready.body.error.vault).toMatchObject({ status: 'down', message: reason });
    expect(ready.body.info.ory).toMatchObject({ status: 'up' });
  });

  it('reports a token Vault rejects with 403, without showing the token anywhere', async () => {
    const { url, logs } = await start({ VAULT_TOKEN: 's.revoked-token-77' });
    const ready = await get(`${url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(ready.body.error.vault).toMatchObject({ status: 'down', message: 'token rejected (403)' });
    expect(JSON.stringify(ready.body)).not.toContain('s.revoked-token-77');
    expect(logs.text()).toContain('token rejected (403)');
    expect(logs.text()).not.toContain('s.revoked-token-77');
  });

  it('reports Ory not ready while its liveness endpoint still answers', async () => {
    ory.ready = false;
    const { url } = await start();
    expect((await fetch(`${ory.url}/health/alive`)).status).toBe(200);
    const ready = await get(`${url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(ready.body.error.ory).toMatchObject({ status: 'down', message: 'not ready (503)' });
    expect(ready.body.info.vault).toMatchObject({ status: 'up' });
  });

  it('reports a refused connection', async () => {
    const { url } = await start({ VAULT_ADDR: `http://127.0.0.1:${REFUSED_PORT}`, ORY_BASE_URL: `http://127.0.0.1:${REFUSED_PORT}` });
    const ready = await get(`${url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(ready.body.error.vault).toMatchObject({ status: 'down', message: 'connection refused' });
    expect(ready.body.error.ory).toMatchObject({ status: 'down', message: 'connection refused' });
  });

  it('reports dependencies that are not configured', async () => {
    const { url } = await start({ VAULT_ADDR: undefined, ORY_BASE_URL: undefined });
    const ready = await get(`${url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(ready.body.error.vault).toMatchObject({ status: 'down', message: 'not configured' });
    expect(ready.body.error.ory).toMatchObject({ status: 'down', message: 'not configured' });
    expect((await get(`${url}/health/live`)).status).toBe(200);
  });

  it('reports a Vault token that is not configured', async () => {
    const { url } = await start({ VAULT_TOKEN: undefined });
    const ready = await get(`${url}/health/ready`);
    expect(ready.body.error.vault).toMatchObject({ status: 'down', message: 'token not configured' });
  });

  it('answers 503 with a timeout reason when a dependency never answers', async () => {
    vault.hang = true;
    ory.hang = true;
    const { url } = await start({ COFFEEBUDDY_DEPENDENCY_TIMEOUT_MS: '500' });
    const ready = await get(`${url}/health/ready`);

    expect(ready.status).toBe(503);
    expect(ready.body.error.vault).toMatchObject({ status: 'down', message: 'timeout of 500ms exceeded' });
    expect(ready.body.error.ory).toMatchObject({ status: 'down', message: 'timeout of 500ms exceeded' });
    // The fakes never answered: the answer came from the service's own bound, which cannot fire early.
    expect(vault.server.requests('/v1/sys/health')).toBe(1);
    expect(ready.ms).toBeGreaterThanOrEqual(500);
  });

  it('answers liveness while a readiness check is still waiting on a dependency', async () => {
    vault.hang = true;
    const { url } = await start({ COFFEEBUDDY_DEPENDENCY_TIMEOUT_MS: '60000' });
    let readyAnswered = false;
    const readyRequest = get(`${url}/health/ready`).finally(() => (readyAnswered = true));
    await waitFor(() => vault.server.requests('/v1/sys/health') === 1, 'the readiness check to reach Vault');

    const lives = [];
    for (let i = 0; i < 5; i += 1) lives.push(await get(`${url}/health/live`));
    expect(lives.map((live) => live.status)).toEqual([200, 200, 200, 200, 200]);
    // Liveness calls no dependency: every answer came while the readiness check still waited on Vault.
    expect(readyAnswered).toBe(false);

    vault.server.abortHanging();
    const ready = await readyRequest;
    expect(ready.status).toBe(503);
    expect(ready.body.error.vault.status).toBe('down');
  });

  it('asks sys/health with standbyok and perfstandbyok, so a standby and a performance standby answer 200', async () => {
    vault.healthStatus = 429;
    // Without the parameters, the fake answers as Vault does: 429 for a standby.
    expect((await fetch(`${vault.url}/v1/sys/health`)).status).toBe(429);
    const { url } = await start();
    const ready = await get(`${url}/health/ready`);
    expect(ready.body.info.vault).toMatchObject({ status: 'up' });
    const query = vault.healthQueries[vault.healthQueries.length - 1];
    expect({ standbyok: query.get('standbyok'), perfstandbyok: query.get('perfstandbyok') }).toEqual({ standbyok: 'true', perfstandbyok: 'true' });
  });

  it('turns a storm of 200 concurrent readiness probes into one call to each dependency', async () => {
    // A cache window longer than the test: every probe lands in it, however slow the machine.
    const { url } = await start({ COFFEEBUDDY_HEALTH_CACHE_TTL_MS: '60000' });
    const answers = await Promise.all(Array.from({ length: 200 }, () => get(`${url}/health/ready`)));
    // Kafka is not configured in this test: every answer is the same 503 with Vault and Ory up.
    expect(answers.every((answer) => answer.status === 503)).toBe(true);
    expect(answers.every((answer) => answer.body.info.vault.status === 'up' && answer.body.info.ory.status === 'up')).toBe(true);
    expect(answers[199].body.error.kafka).toMatchObject({ status: 'down', message: 'not configured' });
    expect(vault.server.requests('/v1/sys/health')).toBe(1);
    expect(vault.server.requests('/v1/auth/token/lookup-self')).toBe(1);
    expect(ory.calls).toBe(1);
  });
});

describe('/metrics', () => {
  it('exports the HTTP histogram by route template, dependency state and default metrics', async () => {
    const service = await startTestApp();
    try {
      await get(`${service.url}/health/live?probe=kubelet`);
      await get(`${service.url}/health/ready`);
      await get(`${service.url}/no/such/path/123`);
      const metrics = await get(`${service.url}/metrics`);
      expect(metrics.status).toBe(200);
      const text = metrics.body as string;
      expect(text).toMatch(/http_request_duration_seconds_count\{method="GET",route="\/health\/live",status_code="200"\} 1/);
      expect(text).toMatch(/http_request_duration_seconds_count\{method="GET",route="\/health\/ready",status_code="503"\} 1/);
      expect(text).toMatch(/http_request_duration_seconds_count\{method="GET",route="unmatched",status_code="404"\} 1/);
      expect(text).not.toContain('probe=kubelet');
      expect(text).not.toContain('/no/such/path');
      expect(text).toContain('coffeebuddy_dependency_up{dependency="vault"} 0');
      expect(text).toContain('process_resident_memory_bytes');
      expect(text).toContain('nodejs_eventloop_lag_seconds');
    } finally {
      await service.close();
    }
  });
});

describe('/health/live', () => {
  it('turns 503 with the reason once a component is broken beyond recovery', async () => {
    const service = await startTestApp();
    try {
      const healthy = await get(`${service.url}/health/live`);
      expect(healthy.status).toBe(200);
      expect(healthy.body).toEqual({ status: 'ok', info: { process: { status: 'up' } }, error: {}, details: { process: { status: 'up' } } });
      service.app.get(Lifecycle).markBroken('kafka-consumer', 'crashed and will not restart: boom');
      const live = await get(`${service.url}/health/live`);
      expect(live.status).toBe(503);
      expect(live.body.error.process).toMatchObject({ status: 'down', message: 'kafka-consumer: crashed and will not restart: boom' });
    } finally {
      await service.close();
    }
  });
});
