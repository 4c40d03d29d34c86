import { parseSettings, Settings, SETTINGS_VARIABLES } from '../../src/settings';
import { startTestApp, TestApp } from '../support/test-app';
import { containerEnv, K8sObject, maxOldSpaceMiB, memoryBytes, only, OVERLAYS, render, ROUTES } from './manifests';

/** Variable names the settings module knows: the keys of its zod schema. */
function knownVariables(): Set<string> {
  return new Set(SETTINGS_VARIABLES);
}

const REQUIRED_IN_CONFIG = ['VAULT_ADDR', 'ORY_BASE_URL', 'KAFKA_BOOTSTRAP_SERVERS'];
const SECRETS = ['VAULT_TOKEN', 'KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'];

function preStopSeconds(container: { lifecycle?: { preStop?: any } }): number {
  const preStop = container.lifecycle?.preStop;
  if (preStop?.sleep) return preStop.sleep.seconds;
  const command: string[] = preStop?.exec?.command ?? [];
  expect(command).toEqual([expect.stringMatching(/(^|\/)sleep$/), expect.stringMatching(/^\d+$/)]);
  return Number(command[1]);
}

describe.each(OVERLAYS)('Deployment of deploy/%s', (overlay) => {
  let objects: K8sObject[];
  let deployment: K8sObject;
  let container: any;
  let env: Record<string, string>;
  let secretRefs: Record<string, { name: string; key: string; optional?: boolean }>;
  let settings: Settings;

  beforeAll(() => {
    objects = render(overlay);
    deployment = only(objects, 'Deployment');
    ({ container, env, secretRefs } = containerEnv(objects));
    settings = parseSettings(env);
  });

  it('sets only variables the settings module knows, and Node\'s own NODE_OPTIONS', () => {
    const known = knownVariables();
    expect(known.size).toBeGreaterThanOrEqual(25);
    expect(Object.keys(env).filter((name) => !known.has(name) && name !== 'NODE_OPTIONS')).toEqual([]);
  });

  it('caps the V8 heap (NODE_OPTIONS) at half the memory limit or less, so the garbage collector works before the limit', () => {
    const heapMiB = maxOldSpaceMiB(env.NODE_OPTIONS ?? '');
    expect(heapMiB).toEqual(expect.any(Number));
    expect(heapMiB! * 2 ** 20).toBeLessThanOrEqual(memoryBytes(container.resources.limits.memory) / 2);
  });

  it('gives settings that parse without a ConfigurationError, from the ConfigMap and the Secret', () => {
    expect(() => parseSettings(env)).not.toThrow();
    // An optional secret key may be missing: the settings must parse without it too.
    const optional = Object.keys(secretRefs).filter((name) => secretRefs[name].optional);
    const withoutOptional = Object.fromEntries(Object.entries(env).filter(([name]) => !optional.includes(name)));
    expect(() => parseSettings(withoutOptional)).not.toThrow();
    expect(settings.lifecycle.environment).toBe(overlay.endsWith('prod') ? 'prod' : 'dev');
    expect(settings.log.format).toBe('json');
  });

  it('sets every required variable: Vault, Ory and Kafka addresses, and the Vault token from the Secret', () => {
    for (const name of REQUIRED_IN_CONFIG) expect(env[name]).toMatch(/\S/);
    expect(secretRefs.VAULT_TOKEN).toEqual({ name: 'coffeebuddy-runtime-secrets', key: 'VAULT_TOKEN' });
    expect(settings.vault.addr).toBeDefined();
    expect(settings.ory.baseUrl).toBeDefined();
    expect(settings.kafka.brokers?.length).toBeGreaterThan(0);
  });

  it('takes the secrets, and only them, from the Secret by reference, with the Kafka credentials when SASL is on', () => {
    const expected = settings.kafka.sasl ? ['KAFKA_SASL_PASSWORD', 'KAFKA_SASL_USERNAME', 'VAULT_TOKEN'] : ['VAULT_TOKEN'];
    expect(Object.keys(secretRefs).sort()).toEqual(expected);
    for (const [name, ref] of Object.entries(secretRefs)) {
      expect(ref).toEqual({ name: 'coffeebuddy-runtime-secrets', key: name });
    }
    for (const name of SECRETS) expect(only(objects, 'ConfigMap').data[name]).toBeUndefined();
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
  });

  it('replicates topics in prod (3 replicas, 2 in sync) and keeps dead letters 30 days; elsewhere the broker decides', () => {
    const { topicReplicationFactor, topicMinInsyncReplicas, deadLetterRetentionMs } = settings.kafka;
    if (overlay.endsWith('prod')) {
      expect([topicReplicationFactor, topicMinInsyncReplicas, deadLetterRetentionMs]).toEqual([3, 2, 30 * 24 * 3600 * 1000]);
    } else {
      expect([topicReplicationFactor, topicMinInsyncReplicas, deadLetterRetentionMs]).toEqual([undefined, undefined, undefined]);
    }
  });

  it('probes /health/live and /health/ready on the container port the app listens on', () => {
    const port = container.ports.find((p: { name: string }) => p.name === 'http');
    expect(port.containerPort).toBe(settings.http.port);
    expect(settings.http.port).toBe(8080);
    expect(container.startupProbe.httpGet).toEqual({ path: ROUTES.live, port: 'http' });
    expect(container.livenessProbe.httpGet).toEqual({ path: ROUTES.live, port: 'http' });
    expect(container.readinessProbe.httpGet).toEqual({ path: ROUTES.ready, port: 'http' });
  });

  it('times the probes for the dependency timeout', () => {
    const { readinessProbe, livenessProbe, startupProbe } = container;
    // Readiness waits for Vault and Ory checks bounded by the dependency timeout: it must outlast it.
    expect(readinessProbe.timeoutSeconds * 1000).toBeGreaterThan(settings.health.dependencyTimeoutMs);
    expect(readinessProbe.periodSeconds).toBe(10);
    expect(livenessProbe).toMatchObject({ periodSeconds: 10, failureThreshold: 3 });
    expect(livenessProbe.timeoutSeconds).toBeGreaterThanOrEqual(2);
    // Up to a minute to start before the kubelet restarts the container.
    expect(startupProbe.periodSeconds * startupProbe.failureThreshold).toBeGreaterThanOrEqual(30);
  });

  it('announces the metrics path and port to Prometheus', () => {
    expect(deployment.spec.template.metadata.annotations).toMatchObject({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': String(settings.http.port),
      'prometheus.io/path': ROUTES.metrics,
    });
  });

  it('runs node dist/main.js directly, so SIGTERM reaches Node', () => {
    expect(container.command).toEqual(['node', 'dist/main.js']);
    expect(container.args).toBeUndefined();
  });

  it('gives the pod a grace period longer than the preStop pause plus the drain timeout', () => {
    const pause = preStopSeconds(container);
    expect(pause).toBeGreaterThanOrEqual(3);
    expect(deployment.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(
      pause + settings.lifecycle.shutdownTimeoutMs / 1000,
    );
  });

  it('runs as non-root with a read-only root filesystem, no privilege escalation, no capabilities, RuntimeDefault seccomp', () => {
    const pod = deployment.spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext.runAsUser).toBeGreaterThan(0);
    expect(container.securityContext.capabilities.add).toBeUndefined();
    expect(container.securityContext.privileged).toBeUndefined();
    expect(pod.hostNetwork ?? false).toBe(false);
    expect(pod.automountServiceAccountToken).toBe(false);
    const tmp = container.volumeMounts.find((m: { mountPath: string }) => m.mountPath === '/tmp');
    expect(pod.volumes.find((v: { name: string }) => v.name === tmp.name).emptyDir).toBeDefined();
  });

  it('asks for resources and sets limits', () => {
    const { requests, limits } = container.resources;
    expect(requests).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
    expect(limits).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
  });
});

describe('Deployment of deploy/overlays/prod', () => {
  it('reaches Vault over https only, since the Vault token travels in a request header', () => {
    const { env } = containerEnv(render('overlays/prod'));
    expect(env.VAULT_ADDR).toMatch(/^https:\/\//);
  });
});

describe('the app serves the paths the manifests probe and scrape', () => {
  let service: TestApp;

  beforeAll(async () => {
    // No Vault, Ory or Kafka: readiness answers 503, which is still the route answering.
    service = await startTestApp({ env: { COFFEEBUDDY_LOG_LEVEL: 'fatal' } });
  });

  afterAll(() => service?.close());

  it.each([
    [ROUTES.live, 200],
    [ROUTES.ready, 503],
    [ROUTES.metrics, 200],
  ])('GET %s answers %i', async (path, status) => {
    const response = await fetch(`${service.url}${path}`);
    await response.text();
    expect(response.status).toBe(status);
  });
});
