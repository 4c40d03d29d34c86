import { startBroker, waitForBroker } from '../../scripts/kafka-broker';

/** How long a broker named by KAFKA_BOOTSTRAP_SERVERS gets to answer before the run stops. */
export const PRESET_BROKER_ANSWER_MS = 5000;

/**
 * One real Kafka broker for the whole suite, unless KAFKA_BOOTSTRAP_SERVERS
 * points at one already. Tests read the address from the environment, and
 * the ports of the broker's PROXIED listener from KAFKA_PROXIED_PORT (where
 * it listens) and KAFKA_PROXY_PORT (what it advertises), for fault proxies.
 * A preset broker that does not answer stops the run at once with one line,
 * rather than a cascade of per-test timeouts.
 */
export default async function globalSetup(): Promise<void> {
  const preset = process.env.KAFKA_BOOTSTRAP_SERVERS;
  if (preset) {
    await checkPresetBroker(preset);
    return;
  }
  const broker = await startBroker();
  process.env.KAFKA_BOOTSTRAP_SERVERS = broker.bootstrap;
  process.env.KAFKA_PROXIED_PORT = String(broker.proxiedPort);
  process.env.KAFKA_PROXY_PORT = String(broker.proxyPort);
  (globalThis as { kafkaBroker?: unknown }).kafkaBroker = broker;
}

async function checkPresetBroker(servers: string): Promise<void> {
  try {
    await waitForBroker(servers, PRESET_BROKER_ANSWER_MS);
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0];
    const failure = new Error(`KAFKA_BOOTSTRAP_SERVERS=${servers} does not answer (${reason}); start that broker, or unset the variable to let the suite start its own`);
    failure.stack = failure.message; // one line: where it was thrown says nothing more
    throw failure;
  }
}
