import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const ROOT = resolve(__dirname, '../..');
export const DEPLOY = join(ROOT, 'deploy');

/** The kustomizations a platform team applies; the overlays are the ones that carry the app. */
export const OVERLAYS = ['overlays/dev', 'overlays/prod'];
export const KUSTOMIZATIONS = ['base', ...OVERLAYS, 'monitoring', 'gateway-api', 'autoscaling'];

/**
 * Custom resources with no model to validate them, so the tests check their fields by hand. KEDA's
 * (keda.sh) are validated like the built-in objects, with @kubernetes-models/keda (validate-models.mjs).
 */
export const CUSTOM_GROUPS = ['configuration.konghq.com', 'monitoring.coreos.com', 'gateway.networking.k8s.io'];

/** The app's routes and its HTTP port default (src/health/health.controller.ts, src/metrics/metrics.module.ts). */
export const ROUTES = { live: '/health/live', ready: '/health/ready', metrics: '/metrics' };
export const INTERNAL_PREFIXES = ['/health', '/metrics'];
export const PUBLIC_PREFIX = '/coffeebuddy';

export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; [key: string]: any }; [key: string]: any };

const cache = new Map<string, K8sObject[]>();

/** Renders a kustomization with the real renderer (KUBECTL picks another kubectl binary, e.g. an older release). */
export function render(kustomization: string): K8sObject[] {
  let objects = cache.get(kustomization);
  if (!objects) {
    const kubectl = process.env.KUBECTL ?? 'kubectl';
    // stderr is piped away: kustomize v5 warns about the fields kept for kustomize v2 (see the kustomization files).
    const text = execFileSync(kubectl, ['kustomize', join(DEPLOY, kustomization)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    objects = parseYaml(text);
    cache.set(kustomization, objects);
  }
  return objects;
}

export function parseYaml(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(doc.errors.map((e) => e.message).join('\n'));
      return doc.toJS() as K8sObject | null;
    })
    .filter((object): object is K8sObject => object !== null);
}

export function readYamlFile(path: string): K8sObject[] {
  return parseYaml(readFileSync(join(DEPLOY, path), 'utf8'));
}

export function only(objects: K8sObject[], kind: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0];
}

export function all(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

export interface ModelResult {
  apiVersion: string;
  kind: string;
  name: string;
  model: string | null;
  errors: string[];
}

/** Validates objects against the Kubernetes schemas bundled in kubernetes-models (see validate-models.mjs). */
export function validateWithModels(objects: K8sObject[]): ModelResult[] {
  const output = execFileSync(process.execPath, [join(__dirname, 'validate-models.mjs')], {
    input: JSON.stringify(objects),
    encoding: 'utf8',
    cwd: ROOT,
  });
  return JSON.parse(output) as ModelResult[];
}

const BINARY_UNITS: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 };

/** Bytes of a Kubernetes memory quantity with a binary suffix or none ("256Mi", "1Gi", "1048576"). */
export function memoryBytes(quantity: string): number {
  const match = /^(\d+)(Ki|Mi|Gi)?$/.exec(quantity);
  if (!match) throw new Error(`unsupported memory quantity ${JSON.stringify(quantity)}`);
  return Number(match[1]) * (match[2] ? BINARY_UNITS[match[2]] : 1);
}

/** The app container of deploy/base/deployment.yaml, as written (before any overlay). */
export function baseContainer(): { env?: Array<{ name: string; value?: string }>; resources: { limits: { memory: string } } } {
  return only(readYamlFile('base/deployment.yaml'), 'Deployment').spec.template.spec.containers[0];
}

/** The `--max-old-space-size` in a NODE_OPTIONS value, in MiB. */
export function maxOldSpaceMiB(nodeOptions: string): number | undefined {
  const match = /--max-old-space-size=(\d+)/.exec(nodeOptions);
  return match ? Number(match[1]) : undefined;
}

interface EnvSource {
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean }; configMapKeyRef?: unknown };
}

/** The container's environment as the kubelet builds it, with a stand-in for each secret value. */
export function containerEnv(objects: K8sObject[]) {
  const [container] = only(objects, 'Deployment').spec.template.spec.containers;
  const configMaps = objects.filter((o) => o.kind === 'ConfigMap');
  const env: Record<string, string> = {};
  const secretRefs: Record<string, { name: string; key: string; optional?: boolean }> = {};
  for (const source of container.envFrom ?? []) {
    expect(source.secretRef).toBeUndefined(); // secrets one by one, so each name is checked below
    const configMap = configMaps.find((c) => c.metadata.name === source.configMapRef.name);
    expect(configMap).toBeDefined();
    Object.assign(env, configMap!.data);
  }
  for (const { name, value, valueFrom } of container.env as Array<EnvSource & { name: string }>) {
    if (valueFrom?.secretKeyRef) {
      secretRefs[name] = valueFrom.secretKeyRef;
      env[name] = `dummy-${name.toLowerCase()}`;
    } else {
      expect(valueFrom).toBeUndefined();
      env[name] = value ?? '';
    }
  }
  return { container, env, secretRefs };
}
