import { Test, TestingModule } from '@nestjs/testing';
import { Registry } from 'prom-client';
import { HealthModule } from '../../src/health/health.module';
import { OryClient } from '../../src/health/ory.client';
import { OryHealthIndicator } from '../../src/health/ory.health';
import { VaultClient } from '../../src/health/vault.client';
import { VaultHealthIndicator } from '../../src/health/vault.health';
import { MetricsModule } from '../../src/metrics/metrics.module';
import { LOG_DESTINATION } from '../../src/runtime/logger';
import { RuntimeModule } from '../../src/runtime/runtime.module';
import { parseSettings } from '../../src/settings';
import { LogCapture } from '../support/log-capture';
import { strictFake } from '../support/strict-fake';

async function compile(
  fakes: { vault?: Partial<VaultClient>; ory?: Partial<OryClient> },
  env: Record<string, string> = {},
): Promise<TestingModule> {
  const settings = parseSettings({ COFFEEBUDDY_HEALTH_CACHE_TTL_MS: '0', ...env });
  let builder = Test.createTestingModule({ imports: [RuntimeModule.forRoot(settings), MetricsModule, HealthModule] })
    .overrideProvider(LOG_DESTINATION)
    .useValue(new LogCapture());
  if (fakes.vault) builder = builder.overrideProvider(VaultClient).useValue(strictFake(fakes.vault));
  if (fakes.ory) builder = builder.overrideProvider(OryClient).useValue(strictFake(fakes.ory));
  return builder.compile();
}

const vaultCheck = (module: TestingModule) => module.get(VaultHealthIndicator, { strict: false }).isHealthy();

describe('VaultHealthIndicator', () => {
  it('is up when sys/health and the token lookup both answer 200', async () => {
    const module = await compile({ vault: { sysHealth: async () => 200, lookupSelf: async () => 200 } });
    expect((await vaultCheck(module)).vault.status).toBe('up');
  });

  it('logs each change of state once: first down at info while starting, down after up at warn', async () => {
    let status = 503;
    const module = await compile({ vault: { sysHealth: async () => status, lookupSelf: async () => 200 } });
    const logs = module.get(LOG_DESTINATION) as LogCapture;
    await vaultCheck(module);
    await vaultCheck(module);
    status = 200;
    await vaultCheck(module);
    status = 503;
    await vaultCheck(module);
    const changes = logs.lines().filter((line) => line.context === 'DependencyCheck');
    expect(changes.map(({ level, msg, reason }) => ({ level, msg, reason }))).toEqual([
      { level: 'info', msg: 'dependency down', reason: 'sealed (503)' },
      { level: 'info', msg: 'dependency up', reason: undefined },
      { level: 'warn', msg: 'dependency down', reason: 'sealed (503)' },
    ]);
  });

  it('reports a sealed Vault without looking up the token', async () => {
    const module = await compile({ vault: { sysHealth: async () => 503 } });
    expect((await vaultCheck(module)).vault).toMatchObject({ status: 'down', message: 'sealed (503)' });
  });

  it('reports a rejected token', async () => {
    const module = await compile({ vault: { sysHealth: async () => 429, lookupSelf: async () => 403 } });
    expect((await vaultCheck(module)).vault).toMatchObject({ status: 'down', message: 'token rejected (403)' });
  });

  it('reports the client error as the reason', async () => {
    const module = await compile({
      vault: {
        sysHealth: async () => {
          throw new Error('connection refused');
        },
      },
    });
    expect((await vaultCheck(module)).vault).toMatchObject({ status: 'down', message: 'connection refused' });
  });

  it('bounds a check that never answers by the dependency timeout', async () => {
    const module = await compile(
      { vault: { sysHealth: (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))) } },
      { COFFEEBUDDY_DEPENDENCY_TIMEOUT_MS: '150' },
    );
    expect((await vaultCheck(module)).vault).toMatchObject({ status: 'down', message: 'timeout of 150ms exceeded' });
  });

  it('shares one check between concurrent probes and reuses it for the cache TTL', async () => {
    let calls = 0;
    const module = await compile(
      {
        vault: {
          sysHealth: async () => {
            calls += 1;
            await new Promise((resolve) => setImmediate(resolve));
            return 200;
          },
          lookupSelf: async () => 200,
        },
      },
      { COFFEEBUDDY_HEALTH_CACHE_TTL_MS: '60000' },
    );
    const results = await Promise.all(Array.from({ length: 20 }, () => vaultCheck(module)));
    expect(results.every((result) => result.vault.status === 'up')).toBe(true);
    await vaultCheck(module);
    expect(calls).toBe(1);
  });

  it('reports "not configured" when VAULT_ADDR is unset, and exports the state as a metric', async () => {
    const module = await compile({});
    expect((await vaultCheck(module)).vault).toMatchObject({ status: 'down', message: 'not configured' });
    const metrics = await module.get(Registry).metrics();
    expect(metrics).toContain('coffeebuddy_dependency_up{dependency="vault"} 0');
    expect(metrics).toMatch(/coffeebuddy_dependency_check_duration_seconds_count\{dependency="vault"\} 1/);
  });
});

describe('OryHealthIndicator', () => {
  const oryCheck = (module: TestingModule) => module.get(OryHealthIndicator, { strict: false }).isHealthy();

  it('is up on 200 and down on anything else', async () => {
    let status = 200;
    const module = await compile({ ory: { ready: async () => status } });
    expect((await oryCheck(module)).ory.status).toBe('up');
    status = 503;
    expect((await oryCheck(module)).ory).toMatchObject({ status: 'down', message: 'not ready (503)' });
  });

  it('reports "not configured" when ORY_BASE_URL is unset', async () => {
    const module = await compile({});
    expect((await oryCheck(module)).ory).toMatchObject({ status: 'down', message: 'not configured' });
  });
});
