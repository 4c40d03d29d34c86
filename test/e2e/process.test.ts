import { freePort } from '../support/ports';
import { ServiceProcess } from '../support/service-process';
import { waitFor } from '../support/wait';

describe('the built service process', () => {
  it('refuses a bad configuration with one clear message and exit code 1', async () => {
    const service = ServiceProcess.spawn({
      COFFEEBUDDY_HTTP_PORT: 'abc',
      COFFEEBUDDY_ENVIRONMENT: 'qa',
      KAFKA_SASL_PASSWORD: 'do-not-print-me',
      KAFKA_BOOTSTRAP_SERVERS: 'kafka-0:9092,kafka-1',
      KAFKA_SSL: 'sometimes',
      OTEL_TRACES_EXPORTER: 'jaeger',
      OTEL_TRACES_SAMPLER_ARG: 'half',
    });
    const { code } = await service.exit();
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
  });

  it('serves its probes and exits 0 on SIGTERM after a logged drain', async () => {
    const port = await freePort();
    const service = ServiceProcess.spawn({ COFFEEBUDDY_HTTP_PORT: String(port), COFFEEBUDDY_HTTP_HOST: '127.0.0.1' });
    const live = await waitFor(
      () => fetch(`http://127.0.0.1:${port}/health/live`).then((response) => response.status === 200),
      'the service to answer /health/live',
    );
    expect(live).toBe(true);
    service.kill('SIGTERM');
    const { code } = await service.exit();
    expect(code).toBe(0);
    expect(service.withMessage('shutdown started')).toHaveLength(1);
    expect(service.withMessage('shutdown complete')).toHaveLength(1);
  });
});
