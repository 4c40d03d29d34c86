import { freePort, REFUSED_PORT } from '../support/ports';
import { ServiceProcess } from '../support/service-process';
import { waitFor } from '../support/wait';

const running: ServiceProcess[] = [];
afterEach(() => {
  for (const service of running.splice(0)) service.kill('SIGKILL');
});

describe('SIGTERM while the broker is unreachable', () => {
  it('abandons the pending connects and exits 0 within the promised 5 s', async () => {
    const httpPort = await freePort();
    // Nothing listens on REFUSED_PORT. A drain that waited for kafkajs' connect
    // retries (8 to 19 s) would hit this 5 s timeout and exit 1.
    const service = ServiceProcess.spawn({
      COFFEEBUDDY_HTTP_PORT: String(httpPort),
      COFFEEBUDDY_HTTP_HOST: '127.0.0.1',
      COFFEEBUDDY_SHUTDOWN_TIMEOUT_MS: '5000',
      KAFKA_BOOTSTRAP_SERVERS: `127.0.0.1:${REFUSED_PORT}`,
    });
    running.push(service);
    await waitFor(
      () => fetch(`http://127.0.0.1:${httpPort}/health/live`).then((response) => response.status === 200),
      'the service to answer /health/live',
    );
    // Both clients are trying: the consumer between its attempts, the producer inside kafkajs' connect retries.
    await service.waitForLine('consumer cannot connect, retrying');
    await waitFor(
      () => service.lines.some((line) => line.context === 'KafkaProducer' && line.kafkajs),
      'kafkajs to report the producer failing to connect',
    );

    service.kill('SIGTERM');
    const { code, signal } = await service.exit();
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(service.withMessage('shutdown complete')).toHaveLength(1);
    expect(service.withMessage('shutdown timed out, exiting')).toEqual([]);
  }, 60000);
});
