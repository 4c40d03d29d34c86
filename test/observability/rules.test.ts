import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import {
  ALERTS_FILE,
  alertingRules,
  dashboard,
  dashboardPanels,
  dashboardQueries,
  DASHBOARD_FILE,
  metricNames,
  OBSERVABILITY,
  OPERATIONS_DOC,
  PROMETHEUS_RULE_FILE,
  promtool,
  readYaml,
  RECORDING_FILE,
  recordingRules,
  ruleGroups,
  ruleTestFiles,
  tempDir,
} from './support';

interface AlertTestCase {
  eval_time: string;
  alertname: string;
  exp_alerts?: Array<{ exp_labels?: Record<string, string> }>;
}
interface RuleTestFile {
  rule_files: string[];
  tests: Array<{ alert_rule_test?: AlertTestCase[] }>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type PrometheusRule = { apiVersion: string; kind: string; metadata: { name: string; labels: Record<string, string> }; spec: any };

const prometheusRule = () => readYaml<PrometheusRule>(PROMETHEUS_RULE_FILE);

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
function anchors(markdown: string): Set<string> {
  const found = new Set<string>();
  for (const line of markdown.split('\n')) {
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (heading) found.add(heading[1].trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-'));
  }
  return found;
}

describe('alerting and recording rules', () => {
  let dir: string;

  beforeAll(() => {
    dir = tempDir('coffeebuddy-rules-');
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('pass promtool check rules: the alerts, the recording rules and the PrometheusRule spec', () => {
    const spec = join(dir, 'prometheus-rule.spec.yaml');
    writeFileSync(spec, stringify(prometheusRule().spec));
    for (const file of [ALERTS_FILE, RECORDING_FILE, spec]) {
      const result = promtool(['check', 'rules', file]);
      expect({ file: basename(file), status: result.status, output: result.stdout + result.stderr }).toEqual(
        expect.objectContaining({ file: basename(file), status: 0 }),
      );
      expect(result.stdout).toContain('SUCCESS');
    }
  });

  it.each(ruleTestFiles().map((file) => [basename(file), file]))('pass their promtool unit tests in %s, whichever group runs first', (_name, file) => {
    const runs = [file];
    // Prometheus evaluates the groups independently: an alert may read a recorded series one evaluation late, or not.
    const recording = ruleGroups(RECORDING_FILE).map((group) => group.name);
    const alerting = ruleGroups(ALERTS_FILE).map((group) => group.name);
    const content = readYaml<Record<string, unknown> & { rule_files: string[] }>(file);
    for (const order of [[...recording, ...alerting], [...alerting, ...recording]]) {
      const copy = join(dir, `${order[0]}-first-${basename(file)}`);
      const ruleFiles = content.rule_files.map((path) => resolve(dirname(file), path));
      writeFileSync(copy, stringify({ ...content, rule_files: ruleFiles, group_eval_order: order }));
      runs.push(copy);
    }
    for (const run of runs) {
      const result = promtool(['test', 'rules', run]);
      expect({ run: basename(run), status: result.status, output: result.stdout + result.stderr }).toEqual({
        run: basename(run),
        status: 0,
        output: expect.stringContaining('SUCCESS'),
      });
    }
  });

  it('have, for every alert, a unit test where it fires and one where it stays silent', () => {
    const fires = new Set<string>();
    const silent = new Set<string>();
    for (const file of ruleTestFiles()) {
      const content = readYaml<RuleTestFile>(file);
      expect(content.rule_files.map((path) => basename(path)).sort()).toEqual(['alerts.yaml', 'recording-rules.yaml']);
      for (const test of content.tests) {
        for (const testCase of test.alert_rule_test ?? []) {
          if ((testCase.exp_alerts ?? []).length > 0) fires.add(testCase.alertname);
          else silent.add(testCase.alertname);
        }
      }
    }
    const names = alertingRules().map((rule) => rule.alert);
    expect(names.filter((name) => !fires.has(name))).toEqual([]);
    expect(names.filter((name) => !silent.has(name))).toEqual([]);
    // And no test names an alert that does not exist.
    expect([...fires, ...silent].filter((name) => !names.includes(name))).toEqual([]);
  });

  it('give every alert a severity, a for: duration, a summary, a description naming a metric, and a runbook in docs/operations.md', () => {
    const docAnchors = anchors(readFileSync(OPERATIONS_DOC, 'utf8'));
    const records = new Map(recordingRules().map((rule) => [rule.record, rule.expr]));
    const names = alertingRules().map((rule) => rule.alert);
    expect(new Set(names).size).toBe(names.length);
    for (const rule of alertingRules()) {
      expect({ alert: rule.alert, severity: rule.labels?.severity }).toEqual({ alert: rule.alert, severity: expect.stringMatching(/^(critical|warning)$/) });
      expect({ alert: rule.alert, for: rule.for }).toEqual({ alert: rule.alert, for: expect.stringMatching(/^\d+[smh]$/) });
      const { summary, description, runbook_url: runbook } = rule.annotations ?? {};
      expect({ alert: rule.alert, summary, description }).toEqual({ alert: rule.alert, summary: expect.any(String), description: expect.stringContaining('Check first') });
      // The metrics the alert reads, those behind its recorded series included: the description names one.
      const read = metricNames(rule.expr).flatMap((name) => [name, ...(records.has(name) ? metricNames(records.get(name)!) : [])]);
      expect({ alert: rule.alert, names: read.some((name) => description!.includes(name)) }).toEqual({ alert: rule.alert, names: true });
      const anchor = rule.alert.toLowerCase();
      expect({ alert: rule.alert, runbook }).toEqual({ alert: rule.alert, runbook: `docs/operations.md#${anchor}` });
      expect({ alert: rule.alert, documented: docAnchors.has(anchor) }).toEqual({ alert: rule.alert, documented: true });
    }
  });

  it('document every alert in the thresholds table of docs/operations.md', () => {
    const doc = readFileSync(OPERATIONS_DOC, 'utf8');
    const section = doc.slice(doc.indexOf('## Thresholds'), doc.indexOf('\n## ', doc.indexOf('## Thresholds') + 1));
    expect(section.length).toBeGreaterThan(0);
    for (const rule of alertingRules()) expect({ alert: rule.alert, row: section.includes(`| ${rule.alert} |`) }).toEqual({ alert: rule.alert, row: true });
  });

  it('name recorded series level:metric:operations, and use each of them somewhere', () => {
    const records = recordingRules().map((rule) => rule.record);
    expect(records.filter((name) => !/^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*:[a-z0-9_]+$/.test(name))).toEqual([]);
    expect(new Set(records).size).toBe(records.length);
    const readers = [
      ...recordingRules().map((rule) => rule.expr),
      ...alertingRules().map((rule) => rule.expr),
      ...dashboardQueries().map((query) => query.expr),
    ].flatMap((expr) => metricNames(expr));
    expect(records.filter((name) => !readers.includes(name))).toEqual([]);
    // Alerts read recorded series only from the recording rules (no other rule file defines them).
    const known = new Set(records);
    const recordedLike = alertingRules().flatMap((rule) => metricNames(rule.expr).filter((name) => name.includes(':')));
    expect(recordedLike.filter((name) => !known.has(name))).toEqual([]);
  });

  it('ship the same groups in the PrometheusRule as in the plain files, and its generator agrees byte for byte', () => {
    const rule = prometheusRule();
    expect(rule.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(rule.kind).toBe('PrometheusRule');
    expect(rule.metadata.name).toBe('coffeebuddy-runtime');
    expect(rule.spec.groups).toEqual([...ruleGroups(RECORDING_FILE), ...ruleGroups(ALERTS_FILE)]);
    execFileSync(process.execPath, [join(OBSERVABILITY, 'build-prometheus-rule.mjs'), '--check'], { stdio: 'pipe' });
  });

  it('render with kustomize into the PrometheusRule and the dashboard ConfigMap', () => {
    const kubectl = process.env.KUBECTL ?? 'kubectl';
    const text = execFileSync(kubectl, ['kustomize', OBSERVABILITY], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const objects = parseAllDocuments(text).map((doc) => doc.toJS() as any);
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(['ConfigMap/coffeebuddy-runtime-dashboard', 'PrometheusRule/coffeebuddy-runtime']);
    const configMap = objects.find((o) => o.kind === 'ConfigMap');
    expect(configMap.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
    expect(JSON.parse(configMap.data['coffeebuddy-runtime.json'])).toEqual(dashboard());
    expect(objects.find((o) => o.kind === 'PrometheusRule')).toEqual(prometheusRule());
  });
});

describe('the metric names an expression reads', () => {
  it('leave out functions, keywords, labels, ranges, strings and Grafana variables', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (namespace, job, le) (rate(http_request_duration_seconds_bucket{route!~"/health/.*", job=~"$job"}[$__rate_interval])))',
      ),
    ).toEqual(['http_request_duration_seconds_bucket']);
    expect(
      metricNames('(a_total unless a_total offset 15m) or increase(b_total[15m]) > 0 and on (job, instance) c:d:rate5m / 1e3'),
    ).toEqual(['a_total', 'b_total', 'c:d:rate5m']);
    expect(metricNames('sum without (method) (x) > bool 0.5 unless ignoring (le) group_left (pod) y')).toEqual(['x', 'y']);
  });
});

describe('the Grafana dashboard', () => {
  const board = dashboard();
  const panels = dashboardPanels(board);

  it('is a dashboard Grafana imports, with a data source variable', () => {
    expect(board.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(board.uid).toBe('coffeebuddy-runtime');
    expect(typeof board.title).toBe('string');
    const variables = board.templating.list;
    expect(variables.find((v) => v.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    expect(variables.map((v) => v.name)).toEqual(expect.arrayContaining(['namespace', 'job']));
    const ids = board.panels.flatMap((p) => [p.id, ...(p.panels ?? []).map((q: { id: number }) => q.id)]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('reads every query from the data source variable and filters on namespace and job', () => {
    for (const panel of panels) {
      expect({ panel: panel.title, datasource: panel.datasource }).toEqual({ panel: panel.title, datasource: { type: 'prometheus', uid: '${datasource}' } });
      expect(panel.targets.length).toBeGreaterThan(0);
      for (const target of panel.targets) {
        expect({ panel: panel.title, datasource: target.datasource }).toEqual({ panel: panel.title, datasource: { type: 'prometheus', uid: '${datasource}' } });
        expect({ panel: panel.title, expr: target.expr }).toEqual({ panel: panel.title, expr: expect.stringContaining('namespace=~"$namespace", job=~"$job"') });
      }
      const { x, w } = panel.gridPos;
      expect(x + w).toBeLessThanOrEqual(24);
    }
  });

  it('shows readiness, HTTP, run events, retries and dead letters, lag, rebalances, the producer and the process', () => {
    const read = new Set(panels.flatMap((panel) => panel.targets.flatMap((target: { expr: string }) => metricNames(target.expr))));
    const subjects = {
      'readiness per dependency': 'coffeebuddy_dependency_up',
      'HTTP rate and errors by route': 'job_route_status_code:http_requests:rate5m',
      'HTTP duration by route': 'job_route:http_request_duration_seconds:p99_rate5m',
      'events handled per type': 'job_type:coffeebuddy_run_events_handled:rate5m',
      'retries (consumed by outcome)': 'job_topic_outcome:coffeebuddy_kafka_messages_consumed:rate5m',
      'dead letters': 'job_topic_reason:coffeebuddy_kafka_dead_letters:rate5m',
      'consumer lag per partition': 'coffeebuddy_kafka_consumer_lag',
      rebalances: 'coffeebuddy_kafka_consumer_rebalances_total',
      'producer rate': 'job_topic:coffeebuddy_kafka_messages_produced:rate5m',
      'producer failures': 'job_topic:coffeebuddy_kafka_produce_failures:rate5m',
      'process memory': 'process_resident_memory_bytes',
      'event-loop lag': 'nodejs_eventloop_lag_p99_seconds',
    };
    expect(Object.entries(subjects).filter(([, metric]) => !read.has(metric))).toEqual([]);
    expect(readFileSync(DASHBOARD_FILE, 'utf8').endsWith('\n')).toBe(true);
  });
});
