import { TopicRegistry } from '../../src/kafka/topics';
import { RUN_EVENTS_TOPIC } from '../../src/run-events/run-event-topics';
import { parseSettings, Settings } from '../../src/settings';
import { containerEnv, K8sObject, only, render, validateWithModels } from './manifests';

/** KEDA's Kafka scaler spells the SASL mechanisms its own way (its `sasl` parameter). */
const KEDA_SASL: Record<string, string> = { plain: 'plaintext', 'scram-sha-256': 'scram_sha256', 'scram-sha-512': 'scram_sha512' };

/** The protocol baseline Kafka 4 keeps (KIP-896): KEDA's client would otherwise speak Kafka 1.0's request versions. */
const KAFKA_PROTOCOL_BASELINE = '2.1.0';

describe('autoscaling on consumer lag in deploy/overlays/prod (deploy/autoscaling)', () => {
  let objects: K8sObject[];
  let deployment: K8sObject;
  let scaledObject: K8sObject;
  let trigger: { type: string; metadata: Record<string, string>; authenticationRef?: { name: string; kind?: string } };
  let settings: Settings;
  let secretRefs: Record<string, { name: string; key: string }>;

  beforeAll(() => {
    objects = render('overlays/prod');
    deployment = only(objects, 'Deployment');
    scaledObject = only(objects, 'ScaledObject');
    [trigger] = scaledObject.spec.triggers;
    const pod = containerEnv(objects);
    settings = parseSettings(pod.env);
    secretRefs = pod.secretRefs;
  });

  it('validates the ScaledObject and the TriggerAuthentication against KEDA\'s schemas, which catch a bad field', () => {
    const autoscaling = objects.filter((o) => o.apiVersion === 'keda.sh/v1alpha1');
    expect(autoscaling.map((o) => o.kind).sort()).toEqual(['ScaledObject', 'TriggerAuthentication']);
    expect(validateWithModels(autoscaling).map(({ kind, model, errors }) => ({ kind, model, errors }))).toEqual([
      { kind: 'ScaledObject', model: '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject', errors: [] },
      { kind: 'TriggerAuthentication', model: '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication', errors: [] },
    ]);
    // The same validation rejects what KEDA would reject, so the empty lists above mean something.
    const broken = { ...scaledObject, spec: { ...scaledObject.spec, maxReplicaCount: 'six' } };
    expect(validateWithModels([broken])[0].errors).toEqual(['/spec/maxReplicaCount must be integer']);
  });

  it('scales the overlay\'s Deployment', () => {
    const target = scaledObject.spec.scaleTargetRef;
    expect(target.name).toBe(deployment.metadata.name);
    expect(target.kind ?? 'Deployment').toBe('Deployment');
    expect(scaledObject.metadata.namespace).toBe(deployment.metadata.namespace);
  });

  it('watches the group, topic and brokers the service uses, with its SASL mechanism and TLS in KEDA\'s spelling', () => {
    const { kafka } = settings;
    expect(trigger.type).toBe('kafka');
    // The trigger's metadata is a plain string map that KEDA's schema does not check: every key is asserted.
    expect(trigger.metadata).toEqual({
      bootstrapServers: kafka.brokers!.join(','),
      consumerGroup: kafka.consumerGroup,
      topic: new TopicRegistry(kafka.topicPrefix).resolve(RUN_EVENTS_TOPIC),
      sasl: KEDA_SASL[kafka.sasl!.mechanism],
      tls: kafka.ssl ? 'enable' : 'disable',
      lagThreshold: expect.stringMatching(/^[1-9]\d*$/),
      // The service subscribes from the beginning: a partition with no committed offset lags by all of it.
      offsetResetPolicy: 'earliest',
      excludePersistentLag: 'true',
      version: KAFKA_PROTOCOL_BASELINE,
    });
    // What that comes to in prod, spelled out.
    expect(trigger.metadata).toMatchObject({
      bootstrapServers: 'kafka-bootstrap.kafka.svc.cluster.local:9093',
      consumerGroup: 'coffeebuddy-run-events',
      topic: 'coffeebuddy.run.events',
      sasl: 'scram_sha512',
      tls: 'enable',
    });
  });

  it('authenticates with the SASL credentials the pods read, from the same Secret keys', () => {
    const auth = only(objects, 'TriggerAuthentication');
    expect(trigger.authenticationRef).toEqual({ name: auth.metadata.name });
    expect(auth.metadata.namespace).toBe(deployment.metadata.namespace);
    expect(auth.spec).toEqual({
      secretTargetRef: [
        { parameter: 'username', ...secretRefs.KAFKA_SASL_USERNAME },
        { parameter: 'password', ...secretRefs.KAFKA_SASL_PASSWORD },
      ],
    });
  });

  it('keeps at least one replica (the pods serve HTTP) and never more than the topic has partitions', () => {
    const { minReplicaCount, maxReplicaCount } = scaledObject.spec;
    expect(minReplicaCount).toBeGreaterThanOrEqual(1);
    expect(maxReplicaCount).toBeGreaterThan(minReplicaCount);
    // The partitions the service creates its topic with (KAFKA_TOPIC_PARTITIONS): a member beyond them gets none.
    expect(maxReplicaCount).toBeLessThanOrEqual(settings.kafka.topicPartitions);
    expect(trigger.metadata.allowIdleConsumers).toBeUndefined();
  });

  it('waits longer than a pod\'s drain before scaling down', () => {
    const { scaleDown } = scaledObject.spec.advanced.horizontalPodAutoscalerConfig.behavior;
    expect(scaleDown.stabilizationWindowSeconds).toBeGreaterThan(deployment.spec.template.spec.terminationGracePeriodSeconds);
  });

  it('leaves the replica count to the HPA: no manifest sets the Deployment\'s replicas', () => {
    expect(deployment.spec.replicas).toBeUndefined();
  });

  it('agrees with the PodDisruptionBudget: a node drain at the minimum scale leaves a pod serving and is never blocked', () => {
    const budget = only(objects, 'PodDisruptionBudget').spec;
    // maxUnavailable, never minAvailable: a minAvailable at or above the HPA's minimum would block every drain.
    expect(budget.minAvailable).toBeUndefined();
    expect(budget.maxUnavailable).toBeGreaterThanOrEqual(1);
    expect(scaledObject.spec.minReplicaCount - budget.maxUnavailable).toBeGreaterThanOrEqual(1);
  });
});

describe('deploy/overlays/dev', () => {
  it('has no autoscaler, and one replica', () => {
    const objects = render('overlays/dev');
    expect(objects.filter((o) => o.apiVersion.startsWith('keda.sh/'))).toEqual([]);
    expect(only(objects, 'Deployment').spec.replicas).toBe(1);
  });
});
