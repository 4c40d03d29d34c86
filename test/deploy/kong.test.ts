import { all, INTERNAL_PREFIXES, K8sObject, only, OVERLAYS, PUBLIC_PREFIX, render, ROUTES } from './manifests';

/** A route path is safe when it is not "/" and neither covers nor sits under an internal path. */
function expectNotExposingInternals(path: string) {
  expect(path).toMatch(/^\/[^/]/);
  const internals = [...INTERNAL_PREFIXES, ...Object.values(ROUTES)];
  const overlapping = internals.filter((internal) => internal.startsWith(path) || path.startsWith(internal));
  expect({ path, overlapping }).toEqual({ path, overlapping: [] });
}

function pluginNames(object: K8sObject): string[] {
  return (object.metadata.annotations?.['konghq.com/plugins'] ?? '').split(',').map((s: string) => s.trim()).filter(Boolean);
}

function expectPluginConfigs(plugins: K8sObject[]) {
  const byType = Object.fromEntries(plugins.map((p) => [p.plugin, p.config]));
  const rate = byType['rate-limiting'];
  expect(['second', 'minute', 'hour', 'day'].some((window) => Number.isInteger(rate[window]) && rate[window] > 0)).toBe(true);
  expect(['local', 'cluster', 'redis']).toContain(rate.policy);
  const size = byType['request-size-limiting'];
  expect(size.allowed_payload_size).toBeGreaterThan(0);
  expect(['bytes', 'kilobytes', 'megabytes']).toContain(size.size_unit);
}

describe.each(OVERLAYS)('Kong Ingress of deploy/%s', (overlay) => {
  let objects: K8sObject[];
  let ingress: K8sObject;

  beforeAll(() => {
    objects = render(overlay);
    ingress = only(objects, 'Ingress');
  });

  it('is for Kong and keeps the path as it is', () => {
    expect(ingress.spec.ingressClassName).toBe('kong');
    // Stripping the prefix would turn /coffeebuddy/metrics into /metrics upstream.
    expect(ingress.metadata.annotations['konghq.com/strip-path']).toBe('false');
    expect(ingress.metadata.annotations['konghq.com/rewrite']).toBeUndefined();
    expect(ingress.metadata.annotations['konghq.com/path']).toBeUndefined();
  });

  it(`routes only ${PUBLIC_PREFIX} to the Service, never /, /metrics or /health`, () => {
    expect(ingress.spec.defaultBackend).toBeUndefined();
    const paths = ingress.spec.rules.flatMap((rule: any) => rule.http.paths);
    expect(paths.map((p: any) => [p.path, p.pathType])).toEqual([[PUBLIC_PREFIX, 'Prefix']]);
    for (const { path } of paths) expectNotExposingInternals(path);
    const service = only(objects, 'Service');
    for (const { backend } of paths) {
      expect(backend.service.name).toBe(service.metadata.name);
      expect(service.spec.ports.map((p: any) => p.name)).toContain(backend.service.port.name);
    }
  });

  it('attaches rate limiting and request size limiting', () => {
    const plugins = all(objects, 'KongPlugin');
    expect(pluginNames(ingress).sort()).toEqual(plugins.map((p) => p.metadata.name).sort());
    expect(plugins.map((p) => p.plugin).sort()).toEqual(['rate-limiting', 'request-size-limiting']);
    expectPluginConfigs(plugins);
  });
});

describe('Gateway API HTTPRoute (deploy/gateway-api)', () => {
  let route: K8sObject;

  beforeAll(() => {
    route = only(render('gateway-api'), 'HTTPRoute');
  });

  it('routes only the public prefix, path kept as it is, to the Service', () => {
    const service = only(render('base'), 'Service');
    expect(route.metadata.annotations['konghq.com/strip-path']).toBe('false');
    for (const rule of route.spec.rules) {
      // A rule without matches would match "/".
      expect(rule.matches.length).toBeGreaterThan(0);
      for (const match of rule.matches) {
        expect(match.path.type).toBe('PathPrefix');
        expect(match.path.value).toBe(PUBLIC_PREFIX);
        expectNotExposingInternals(match.path.value);
      }
      expect(rule.filters ?? []).toEqual([]);
      expect(rule.backendRefs).toEqual([{ name: service.metadata.name, port: service.spec.ports[0].port }]);
    }
  });

  it('attaches the KongPlugins of the base', () => {
    const plugins = all(render('base'), 'KongPlugin');
    expect(pluginNames(route).sort()).toEqual(plugins.map((p) => p.metadata.name).sort());
    expectPluginConfigs(plugins);
  });

  it('attaches to a Gateway', () => {
    expect(route.spec.parentRefs).toEqual([expect.objectContaining({ kind: 'Gateway', name: expect.any(String) })]);
  });
});
