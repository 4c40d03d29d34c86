import { all, CUSTOM_GROUPS, K8sObject, KUSTOMIZATIONS, only, OVERLAYS, render, ROUTES, validateWithModels } from './manifests';

const groupOf = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion.split('/')[0] : '');

const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);

describe.each(KUSTOMIZATIONS)('kustomization deploy/%s', (kustomization) => {
  let objects: K8sObject[];

  beforeAll(() => {
    objects = render(kustomization);
  });

  it('renders objects with an apiVersion, a kind and a name', () => {
    expect(objects.length).toBeGreaterThan(0);
    for (const object of objects) {
      expect(object.apiVersion).toEqual(expect.any(String));
      expect(object.kind).toEqual(expect.any(String));
      expect(object.metadata?.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
  });

  it('validates every built-in object and KEDA resource against the schemas of kubernetes-models', () => {
    const results = validateWithModels(objects);
    for (const result of results) {
      if (CUSTOM_GROUPS.includes(groupOf(result.apiVersion))) continue;
      expect({ object: `${result.kind}/${result.name}`, model: result.model }).toEqual({
        object: `${result.kind}/${result.name}`,
        model: expect.any(String),
      });
      expect({ object: `${result.kind}/${result.name}`, errors: result.errors }).toEqual({
        object: `${result.kind}/${result.name}`,
        errors: [],
      });
    }
  });

  it('has only custom resources from the known groups, each with its required fields', () => {
    for (const object of objects.filter((o) => CUSTOM_GROUPS.includes(groupOf(o.apiVersion)))) {
      switch (object.kind) {
        case 'KongPlugin':
          expect(object.apiVersion).toBe('configuration.konghq.com/v1');
          expect(object.plugin).toMatch(/^[a-z0-9-]+$/);
          expect(object.config).toEqual(expect.any(Object));
          break;
        case 'ServiceMonitor':
          expect(object.apiVersion).toBe('monitoring.coreos.com/v1');
          expect(object.spec.selector.matchLabels).toEqual(expect.any(Object));
          expect(object.spec.endpoints.length).toBeGreaterThan(0);
          break;
        case 'HTTPRoute':
          expect(object.apiVersion).toBe('gateway.networking.k8s.io/v1');
          expect(object.spec.parentRefs.length).toBeGreaterThan(0);
          for (const ref of object.spec.parentRefs) expect(ref.name).toEqual(expect.any(String));
          expect(object.spec.rules.length).toBeGreaterThan(0);
          break;
        default:
          throw new Error(`unexpected custom resource ${object.apiVersion} ${object.kind}`);
      }
    }
  });
});

describe.each(OVERLAYS)('overlay deploy/%s', (overlay) => {
  let objects: K8sObject[];

  beforeAll(() => {
    objects = render(overlay);
  });

  it('puts every object in the overlay namespace, which it creates', () => {
    const namespace = only(objects, 'Namespace');
    expect(namespace.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    for (const object of objects.filter((o) => o.kind !== 'Namespace')) {
      expect(`${object.kind}/${object.metadata.name} in ${object.metadata.namespace}`).toBe(
        `${object.kind}/${object.metadata.name} in ${namespace.metadata.name}`,
      );
    }
  });

  it('has the Deployment, Service, ConfigMap, PodDisruptionBudget, NetworkPolicy, Ingress and both KongPlugins; prod its autoscaler too', () => {
    const kinds = objects.map((o) => o.kind).sort();
    const autoscaling = overlay.endsWith('prod') ? ['ScaledObject', 'TriggerAuthentication'] : [];
    expect(kinds).toEqual(
      [
        'ConfigMap',
        'Deployment',
        'Ingress',
        'KongPlugin',
        'KongPlugin',
        'Namespace',
        'NetworkPolicy',
        'PodDisruptionBudget',
        'Service',
        ...autoscaling,
      ].sort(),
    );
    expect(all(objects, 'KongPlugin').map((p) => p.plugin).sort()).toEqual(['rate-limiting', 'request-size-limiting']);
  });

  it('pins an image by registry, name and tag', () => {
    const [container] = only(objects, 'Deployment').spec.template.spec.containers;
    expect(container.image).toMatch(/^[a-z0-9.-]+\/[a-z0-9/_.-]+:[A-Za-z0-9_.-]+$/);
    expect(container.image).not.toMatch(/:latest$/);
  });

  it('selects the Deployment pods from the Service, the PodDisruptionBudget and the NetworkPolicy', () => {
    const deployment = only(objects, 'Deployment');
    const podLabels = deployment.spec.template.metadata.labels;
    expect(matches(deployment.spec.selector.matchLabels, podLabels)).toBe(true);
    expect(matches(only(objects, 'Service').spec.selector, podLabels)).toBe(true);
    expect(matches(only(objects, 'PodDisruptionBudget').spec.selector.matchLabels, podLabels)).toBe(true);
    expect(matches(only(objects, 'NetworkPolicy').spec.podSelector.matchLabels, podLabels)).toBe(true);
  });

  it('sends the Service to the container port named http', () => {
    const [container] = only(objects, 'Deployment').spec.template.spec.containers;
    const [port] = only(objects, 'Service').spec.ports;
    expect(port.name).toBe('http');
    expect(container.ports.map((p: { name: string }) => p.name)).toContain(port.targetPort);
  });

  it('lets a node drain evict a pod: the PodDisruptionBudget allows one unavailable pod', () => {
    expect(only(objects, 'PodDisruptionBudget').spec).toMatchObject({ maxUnavailable: 1 });
  });

  it('lets a node drain evict unready pods, so a Vault, Ory or Kafka outage (every pod unready) never blocks it', () => {
    expect(only(objects, 'PodDisruptionBudget').spec.unhealthyPodEvictionPolicy).toBe('AlwaysAllow');
  });

  it('admits traffic only from the Kong namespace and Prometheus, on the HTTP port', () => {
    const policy = only(objects, 'NetworkPolicy');
    const [container] = only(objects, 'Deployment').spec.template.spec.containers;
    expect(policy.spec.policyTypes).toContain('Ingress');
    expect(policy.spec.ingress).toHaveLength(1);
    const [rule] = policy.spec.ingress;
    expect(rule.ports).toEqual([{ protocol: 'TCP', port: container.ports[0].containerPort }]);
    const peers = rule.from.map((peer: { namespaceSelector?: { matchLabels?: Record<string, string> } }) => ({
      namespace: peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'],
    }));
    expect(peers).toEqual([{ namespace: 'kong' }, { namespace: 'monitoring' }]);
    expect(rule.from[1].podSelector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'prometheus' });
    for (const peer of rule.from) expect(peer.ipBlock).toBeUndefined();
  });
});

describe('ServiceMonitor (deploy/monitoring)', () => {
  it('scrapes the metrics path on the Service port of the app', () => {
    const service = only(render('base'), 'Service');
    const monitor = only(render('monitoring'), 'ServiceMonitor');
    expect(matches(monitor.spec.selector.matchLabels, service.metadata.labels)).toBe(true);
    expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: service.spec.ports[0].name, path: ROUTES.metrics })]);
  });
});
