import { KafkaEventPublisher } from '../../src/run-events/kafka-event-publisher';
import { TopicRegistry } from '../../src/kafka/topics';
import { RUN_EVENTS_TOPIC } from '../../src/run-events/run-event-topics';
import { RunEventHandlers } from '../../src/run-events/run-event-handlers';
import { FakeOry } from '../support/fake-ory';
import { FakeVault, VAULT_TOKEN } from '../support/fake-vault';
import { isolatedKafkaEnv, orderPlaced, produceRaw } from '../support/kafka';
import { RecordingHandlers } from '../support/recording-handlers';
import { startTestApp, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait';
import {
  ALERTS_FILE,
  alertingRules,
  dashboardQueries,
  expositionNames,
  metricNames,
  PrometheusServer,
  promtool,
  RECORDING_FILE,
  recordingRules,
} from './support';

/** prom-client's default gauges named like counters: the only findings of promtool that are excused. */
const EXCUSED = /^nodejs_active_(handles|requests|resources)_total$/;

const JOB = 'coffeebuddy-runtime';

/**
 * The real service on the suite's broker, with run events handled, retried, dead-lettered and
 * skipped as duplicates so that every Kafka series exists; a real Prometheus scrapes it.
 */
describe('the service metrics, checked by promtool and scraped by a real Prometheus', () => {
  const published = 20;
  let vault: FakeVault;
  let ory: FakeOry;
  let service: TestApp;
  let handlers: RecordingHandlers;
  let prometheus: PrometheusServer | undefined;
  let topic: string;

  const metricsText = async () => {
    const response = await fetch(`${service.url}/metrics`);
    expect(response.status).toBe(200);
    return response.text();
  };

  beforeAll(async () => {
    [vault, ory] = await Promise.all([FakeVault.start(), FakeOry.start()]);
    handlers = new RecordingHandlers();
    service = await startTestApp({
      env: { ...isolatedKafkaEnv(), VAULT_ADDR: vault.url, VAULT_TOKEN, ORY_BASE_URL: ory.url },
      override: (builder) => builder.overrideProvider(RunEventHandlers).useValue(handlers),
    });
    await waitFor(async () => (await fetch(`${service.url}/health/ready`)).status === 200, 'the service to be ready', 60000);

    const { host } = new URL(service.url);
    prometheus = await PrometheusServer.start({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: [RECORDING_FILE, ALERTS_FILE],
      scrape_configs: [{ job_name: JOB, metrics_path: '/metrics', static_configs: [{ targets: [host] }] }],
    });

    topic = service.app.get(TopicRegistry).resolve(RUN_EVENTS_TOPIC);
    const events = Array.from({ length: published }, (_, seq) => orderPlaced(`run-${seq % 4}`, seq));
    // One handler failure on the first attempt: one retry, then handled.
    handlers.failWith(events[3].id, (attempt) => (attempt === 1 ? new Error('downstream hiccup') : undefined));
    // In two halves, Prometheus scraping the first before the second is sent: the counter grows
    // between scrapes, so its rate (and the recording rules built on it) is above zero.
    const publisher = service.app.get(KafkaEventPublisher);
    const half = published / 2;
    await publisher.publishBatch(events.slice(0, half).map((value) => ({ topic, value })));
    await waitFor(
      async () => (await prometheus!.query(`sum(coffeebuddy_run_events_handled_total{job="${JOB}"})`))[0]?.value === half,
      `Prometheus to see the first ${half} handled events`,
    );
    await publisher.publishBatch(events.slice(half).map((value) => ({ topic, value })));
    await waitFor(() => handlers.handled.length >= published, `${published} handled events`);

    // Not published events: a poison message (dead-lettered) and a redelivered one (a duplicate).
    await produceRaw(topic, [
      { key: 'run-0', value: 'not json' },
      { key: events[0].runId, value: JSON.stringify(events[0]) },
    ]);
    await waitFor(async () => {
      const text = await metricsText();
      return text.includes('outcome="dead_lettered"} 1') && text.includes('outcome="duplicate"} 1');
    }, 'the dead letter and the duplicate in /metrics');
  }, 120000);

  afterAll(async () => {
    await prometheus?.stop();
    await service?.close();
    await Promise.all([vault?.close(), ory?.close()]);
  });

  it('has the series an operator needs, with the expected values', async () => {
    const text = await metricsText();
    expect(text).toContain(`coffeebuddy_run_events_handled_total{type="run.order_placed"} ${published}`);
    expect(text).toContain(`coffeebuddy_kafka_messages_consumed_total{topic="${topic}",outcome="retried"} 1`);
    expect(text).toContain(`coffeebuddy_kafka_dead_letters_total{topic="${topic}",reason="invalid_json"} 1`);
    expect(text).toMatch(/^coffeebuddy_dependency_up\{dependency="vault"\} 1$/m);
    expect(text).toMatch(/^http_request_duration_seconds_count\{method="GET",route="\/health\/ready",status_code="200"\} \d+$/m);
  });

  it('passes promtool check metrics; only prom-client\'s nodejs_active_*_total gauges are excused', async () => {
    const result = promtool(['check', 'metrics'], await metricsText());
    // Exit 0: no finding; 3: lint findings (listed one per line, "<metric> <problem>"); anything else: unreadable.
    expect([0, 3]).toContain(result.status);
    const findings = `${result.stdout}\n${result.stderr}`
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean);
    const unexcused = findings.filter((line) => !EXCUSED.test(line.split(/\s+/)[0]));
    expect(unexcused).toEqual([]);
  });

  it('exports every metric the alerts, the recording rules and the dashboard read', async () => {
    const known = expositionNames(await metricsText());
    for (const rule of recordingRules()) known.add(rule.record);
    const used = [
      ...recordingRules().map((rule) => ({ where: `recording rule ${rule.record}`, expr: rule.expr })),
      ...alertingRules().map((rule) => ({ where: `alert ${rule.alert}`, expr: rule.expr })),
      ...dashboardQueries(),
    ];
    const missing = used.flatMap(({ where, expr }) =>
      metricNames(expr)
        .filter((name) => !known.has(name))
        .map((name) => `${where}: ${name}`),
    );
    expect(missing).toEqual([]);
    // The check has teeth: every place reads at least one metric.
    expect(used.filter(({ expr }) => metricNames(expr).length === 0)).toEqual([]);
  });

  it('lets Prometheus count every published event, evaluate the recording rules and fire the dead-letter alert', async () => {
    const server = prometheus!;
    await waitFor(
      async () => (await server.query(`sum(coffeebuddy_run_events_handled_total{job="${JOB}"})`))[0]?.value === published,
      `Prometheus to see ${published} handled events`,
      20000,
    );
    const handled = await server.query(`sum(coffeebuddy_run_events_handled_total{job="${JOB}"})`);
    expect(handled).toEqual([{ metric: {}, value: published }]);

    // Recorded series, read back from Prometheus' storage.
    const recorded = await waitFor(async () => {
      const samples = await server.query(`job_type:coffeebuddy_run_events_handled:rate5m{job="${JOB}"}`);
      return samples.length > 0 && samples;
    }, 'a sample of job_type:coffeebuddy_run_events_handled:rate5m', 20000);
    expect(recorded).toEqual([{ metric: expect.objectContaining({ job: JOB, type: 'run.order_placed' }), value: expect.any(Number) }]);
    expect(recorded[0].value).toBeGreaterThan(0);
    // The HTTP rules keep CoffeeBuddy's targets with a join on coffeebuddy_kafka_consumer_in_group: it must match real labels.
    await waitFor(
      async () => (await server.query(`job_route_status_code:http_requests:rate5m{job="${JOB}", route="/metrics"}`)).length === 1,
      'a sample of job_route_status_code:http_requests:rate5m for /metrics',
      20000,
    );

    // Every rule, recording and alerting, evaluated without error.
    const { groups } = await waitFor(async () => {
      const data = await server.api('rules');
      const evaluated = data.groups.every((group: { lastEvaluation: string }) => !group.lastEvaluation.startsWith('0001'));
      return evaluated && data;
    }, 'every rule group to be evaluated');
    const rules = groups.flatMap((group: { rules: unknown[] }) => group.rules);
    expect(rules).toHaveLength(recordingRules().length + alertingRules().length);
    expect(rules.filter((rule: { health: string }) => rule.health !== 'ok')).toEqual([]);

    // The one dead letter fires its alert at once (its counter series appeared at 1), and nothing else fires.
    const firing = await waitFor(async () => {
      const samples = await server.query('ALERTS{alertstate="firing"}');
      return samples.some((sample) => sample.metric.alertname === 'CoffeeBuddyRunEventDeadLettered') && samples;
    }, 'CoffeeBuddyRunEventDeadLettered to fire', 20000);
    expect(firing.map((sample) => sample.metric)).toEqual([
      expect.objectContaining({ alertname: 'CoffeeBuddyRunEventDeadLettered', job: JOB, topic, reason: 'invalid_json', severity: 'warning' }),
    ]);
  });
});
