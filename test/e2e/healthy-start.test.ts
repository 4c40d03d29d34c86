import { rmSync } from 'node:fs';
import { BrokerHandle, startBroker } from '../../scripts/kafka-broker';
import { FakeOry } from '../support/fake-ory';
import { FakeVault, VAULT_TOKEN } from '../support/fake-vault';
import { isolatedKafkaEnv } from '../support/kafka';
import { freePort } from '../support/ports';
import { ServiceProcess } from '../support/service-process';
import { waitFor } from '../support/wait';

// Operators alert on error lines: a start that goes well must not write one, nor a warning.
describe('a healthy start against a freshly formatted broker', () => {
  let broker: BrokerHandle;
  let vault: FakeVault;
  let ory: FakeOry;
  let service: ServiceProcess | undefined;

  beforeAll(async () => {
    // A broker of its own: on a new cluster the group and transaction coordinators are still
    // loading when the service first asks for them, which kafkajs reports and retries.
    broker = await startBroker();
    vault = await FakeVault.start();
    ory = await FakeOry.start();
  }, 120_000);

  afterAll(async () => {
    if (service) {
      service.kill('SIGTERM');
      await service.exit();
    }
    await Promise.all([vault?.close(), ory?.close(), broker?.stop()]);
    if (broker) rmSync(broker.dataDir, { recursive: true, force: true });
  }, 60_000);

  it('logs no warning and no error until the service is ready', async () => {
    const port = await freePort();
    service = ServiceProcess.spawn({
      ...isolatedKafkaEnv(broker.bootstrap),
      COFFEEBUDDY_HTTP_HOST: '127.0.0.1',
      COFFEEBUDDY_HTTP_PORT: String(port),
      VAULT_ADDR: vault.url,
      VAULT_TOKEN,
      ORY_BASE_URL: ory.url,
    });
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 200,
      'the service to report ready (Vault, Ory and Kafka up)',
      60_000,
    );
    await service.waitForLine('consumer joined its group');

    expect(service.lines.filter((line) => ['warn', 'error', 'fatal'].includes(line.level))).toEqual([]);
    expect(service.stderr).toBe('');
  }, 120_000); // above the sum of its waits (60 s, 30 s)
});
