import { FakeVault, VAULT_TOKEN } from '../support/fake-vault';
import { ServiceProcess } from '../support/service-process';
import { testTimeout, waitFor } from '../support/wait';

const START_MS = 30_000;
const LINE_MS = 30_000;
const EXIT_MS = 30_000;

const spawnServing = (env: Record<string, string> = {}) => ServiceProcess.spawnServing(env, { timeoutMs: START_MS });

describe('the built service process', () => {
  it(
    'refuses a bad configuration with one clear message and exit code 1',
    async () => {
      const service = ServiceProcess.spawn({
        COFFEEBUDDY_HTTP_PORT: 'abc',
        COFFEEBUDDY_ENVIRONMENT: 'qa',
        KAFKA_SASL_PASSWORD: 'do-not-print-me',
        KAFKA_BOOTSTRAP_SERVERS: 'kafka-0:9092,kafka-1',
        KAFKA_SSL: 'sometimes',
        OTEL_TRACES_EXPORTER: 'jaeger',
        OTEL_TRACES_SAMPLER_ARG: 'half',
      });
      const { code } = await service.waitForExit('a bad configuration', EXIT_MS);
      expect(code).toBe(1);
      expect(service.stderr).toContain('Invalid configuration:');
      expect(service.stderr).toContain('COFFEEBUDDY_HTTP_PORT must be an integer from 1 to 65535 (got "abc")');
      expect(service.stderr).toContain('COFFEEBUDDY_ENVIRONMENT must be one of dev, test, staging, prod (got "qa")');
      expect(service.stderr).toContain('KAFKA_SASL_MECHANISM must be set');
      expect(service.stderr).toContain('KAFKA_BOOTSTRAP_SERVERS must be a comma-separated list of host:port, bad entries: "kafka-1"');
      expect(service.stderr).toContain('KAFKA_SSL must be true or false (got "sometimes")');
      expect(service.stderr).toContain('OTEL_TRACES_EXPORTER must be one of otlp, zipkin, none (got "jaeger")');
      expect(service.stderr).toContain('OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1 (got "half")');
      expect(service.stderr).not.toContain('do-not-print-me');
      // No stack trace for a configuration error.
      expect(service.stderr).not.toMatch(/\n\s+at /);
    },
    testTimeout(EXIT_MS),
  );

  it(
    'serves its probes and exits 0 on SIGTERM after a logged drain',
    async () => {
      const { service } = await spawnServing();
      service.kill('SIGTERM');
      const { code } = await service.waitForExit('SIGTERM', EXIT_MS);
      expect(code).toBe(0);
      expect(service.withMessage('shutdown started')).toHaveLength(1);
      expect(service.withMessage('shutdown complete')).toHaveLength(1);
    },
    testTimeout(START_MS, EXIT_MS),
  );
});

/**
 * A drain held open on purpose: a readiness probe waits on a Vault that never
 * answers, and the HTTP server lets a request in flight finish before it
 * closes. The test decides when the drain may end (by dropping the hanging
 * connection), so the second signal always lands mid-drain.
 */
describe('a second signal during the drain', () => {
  async function startHeldDrain(firstSignal: NodeJS.Signals) {
    const vault = await FakeVault.start();
    vault.hang = true;
    const { service, url } = await spawnServing({
      VAULT_ADDR: vault.url,
      VAULT_TOKEN,
      COFFEEBUDDY_DEPENDENCY_TIMEOUT_MS: '60000',
      COFFEEBUDDY_HEALTH_CACHE_TTL_MS: '0',
      COFFEEBUDDY_SHUTDOWN_TIMEOUT_MS: '120000',
    });
    const probe = fetch(`${url}/health/ready`).then(
      (response) => response.status,
      (error: Error) => `no answer: ${error.message}`,
    );
    await waitFor(() => vault.server.requests('/v1/sys/health') > 0, 'the readiness probe to reach Vault', LINE_MS);
    service.kill(firstSignal);
    await service.waitForLine('shutdown started', LINE_MS);
    return { vault, service, probe };
  }

  it(
    'keeps draining through a second SIGTERM and exits 0 once the request in flight is answered',
    async () => {
      const { vault, service, probe } = await startHeldDrain('SIGTERM');
      service.kill('SIGTERM');
      await service.waitForLine('shutdown already in progress, signal ignored', LINE_MS);
      expect(service.running).toBe(true);

      vault.server.abortHanging(); // Vault fails the check: the probe is answered, the drain can end
      const { code, signal } = await service.waitForExit('the drain', EXIT_MS);
      expect({ code, signal }).toEqual({ code: 0, signal: null });
      expect(await probe).toBe(503);
      expect(service.withMessage('shutdown complete')).toHaveLength(1);
    },
    testTimeout(START_MS, LINE_MS, LINE_MS, LINE_MS, EXIT_MS),
  );

  it(
    'exits 130 at once on a second SIGINT (Ctrl-C twice), without waiting for the drain',
    async () => {
      const { service, probe } = await startHeldDrain('SIGINT');
      service.kill('SIGINT');
      const { code, signal } = await service.waitForExit('a second SIGINT', EXIT_MS);
      expect({ code, signal }).toEqual({ code: 130, signal: null });
      expect(service.withMessage('shutdown forced, exiting without finishing the drain')).toHaveLength(1);
      expect(service.withMessage('shutdown complete')).toHaveLength(0);
      expect(await probe).toMatch(/^no answer/);
    },
    testTimeout(START_MS, LINE_MS, LINE_MS, EXIT_MS),
  );
});
