import { rmSync } from 'node:fs';
import type { BrokerHandle } from '../../scripts/kafka-broker';

export default async function globalTeardown(): Promise<void> {
  const broker = (globalThis as { kafkaBroker?: BrokerHandle }).kafkaBroker;
  if (!broker) return;
  await broker.stop();
  rmSync(broker.dataDir, { recursive: true, force: true });
}
