import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { onCleanup } from '../support/cleanup';
import { isolatedKafkaEnv } from '../support/kafka';
import { ServiceProcess } from '../support/service-process';
import { testTimeout } from '../support/wait';

const START_MS = 30_000;
const JOIN_MS = 60_000;
const EXIT_MS = 30_000;

/** Makes the process write every module file it loaded to stderr when it exits. */
const REPORT_LOADED_MODULES = ['--require', join(__dirname, '..', 'support', 'report-loaded-modules.js')];

/** The SDK side of OpenTelemetry: every @opentelemetry package but the API, @fastify/otel, and the module hooks they bring. */
const SDK_MODULE = /\/node_modules\/(@opentelemetry\/(?!api\/)[^/]+|@fastify\/otel|require-in-the-middle|import-in-the-middle)\//;

/** The service as production runs it, on the suite's broker, until its consumer joined; then SIGTERM and the modules it loaded. */
async function modulesLoadedBy(env: Record<string, string>, whileServing: (url: string) => Promise<void> = async () => undefined) {
  const { service, url } = await ServiceProcess.spawnServing({ ...isolatedKafkaEnv(), ...env }, { nodeArgs: REPORT_LOADED_MODULES, timeoutMs: START_MS });
  await service.waitForLine('consumer joined its group', JOIN_MS);
  await whileServing(url);
  service.kill('SIGTERM');
  expect(await service.waitForExit('SIGTERM', EXIT_MS)).toEqual({ code: 0, signal: null });
  const line = service.stderr.split('\n').find((text) => text.startsWith('loaded modules: '));
  if (!line) throw new Error(`no list of loaded modules on stderr: ${service.stderr}`);
  return JSON.parse(line.slice('loaded modules: '.length)) as string[];
}

/** A loopback OTLP/HTTP collector that keeps the body of each export to /v1/traces. */
async function startCollector(): Promise<{ url: string; exports: Buffer[] }> {
  const exports: Buffer[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.method === 'POST' && request.url === '/v1/traces') exports.push(Buffer.concat(chunks));
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup('OTLP collector', () => new Promise((resolve) => server.close(resolve)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, exports };
}

describe('the built service and the OpenTelemetry SDK', () => {
  it(
    'loads nothing of the SDK, its exporters or @fastify/otel when tracing is off',
    async () => {
      const modules = await modulesLoadedBy({});
      // The list is the whole process': the service's own tracing code and the rest of what it runs are in it.
      expect(modules).toContainEqual(expect.stringMatching(/\/dist\/runtime\/tracing\.js$/));
      expect(modules).toContainEqual(expect.stringMatching(/\/node_modules\/kafkajs\//));
      expect(modules.filter((file) => SDK_MODULE.test(file) || file.endsWith('/dist/runtime/tracing-sdk.js'))).toEqual([]);
    },
    testTimeout(START_MS, JOIN_MS, EXIT_MS),
  );

  it(
    'loads the SDK and exports the request spans over OTLP when tracing is on',
    async () => {
      const collector = await startCollector();
      const traceId = randomBytes(16).toString('hex');
      const modules = await modulesLoadedBy({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url }, async (url) => {
        const response = await fetch(`${url}/health/live`, { headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` } });
        expect(response.status).toBe(200);
      });
      expect(modules).toContainEqual(expect.stringMatching(/\/dist\/runtime\/tracing-sdk\.js$/));
      expect(modules).toContainEqual(expect.stringMatching(/\/node_modules\/@opentelemetry\/exporter-trace-otlp-proto\//));
      expect(modules).toContainEqual(expect.stringMatching(/\/node_modules\/@fastify\/otel\//));
      // The shutdown flushed the request's span before the process exited: its trace id (raw bytes in protobuf) and its route are in an export.
      const exported = collector.exports.filter((body) => body.includes(Buffer.from(traceId, 'hex')));
      expect(exported).toHaveLength(1);
      expect(exported[0].includes('/health/live')).toBe(true);
    },
    testTimeout(START_MS, JOIN_MS, EXIT_MS),
  );
});
