import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { freePort } from '../support/ports';
import { waitFor } from '../support/wait';

export const ROOT = resolve(__dirname, '../..');
export const OBSERVABILITY = join(ROOT, 'deploy/observability');
export const ALERTS_FILE = join(OBSERVABILITY, 'alerts.yaml');
export const RECORDING_FILE = join(OBSERVABILITY, 'recording-rules.yaml');
export const PROMETHEUS_RULE_FILE = join(OBSERVABILITY, 'prometheus-rule.yaml');
export const DASHBOARD_FILE = join(OBSERVABILITY, 'dashboard.json');
export const RULE_TESTS_DIR = join(OBSERVABILITY, 'tests');
export const OPERATIONS_DOC = join(ROOT, 'docs/operations.md');

/** Debian's package puts both on PATH; PROMTOOL / PROMETHEUS pick other binaries. */
export const PROMTOOL = process.env.PROMTOOL ?? 'promtool';
export const PROMETHEUS = process.env.PROMETHEUS ?? 'prometheus';

export interface AlertingRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export interface RecordingRule {
  record: string;
  expr: string;
}
export interface RuleGroup {
  name: string;
  interval?: string;
  rules: Array<AlertingRule | RecordingRule>;
}

export function readYaml<T>(path: string): T {
  return parse(readFileSync(path, 'utf8')) as T;
}

export function ruleGroups(path: string): RuleGroup[] {
  return readYaml<{ groups: RuleGroup[] }>(path).groups;
}

export function alertingRules(): AlertingRule[] {
  return ruleGroups(ALERTS_FILE).flatMap((group) => group.rules as AlertingRule[]);
}

export function recordingRules(): RecordingRule[] {
  return ruleGroups(RECORDING_FILE).flatMap((group) => group.rules as RecordingRule[]);
}

export function ruleTestFiles(): string[] {
  return readdirSync(RULE_TESTS_DIR)
    .filter((name) => name.endsWith('.yaml') || name.endsWith('.yml'))
    .map((name) => join(RULE_TESTS_DIR, name));
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Dashboard = { panels: any[]; templating: { list: any[] }; [key: string]: any };

export function dashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
}

/** Every panel of the dashboard, those inside collapsed rows included, rows themselves excluded. */
export function dashboardPanels(board = dashboard()): Dashboard['panels'] {
  return board.panels.flatMap((panel) => (panel.type === 'row' ? panel.panels ?? [] : [panel]));
}

/** Each PromQL expression of the dashboard, with where it comes from. */
export function dashboardQueries(board = dashboard()): Array<{ where: string; expr: string }> {
  const queries: Array<{ where: string; expr: string }> = [];
  for (const panel of dashboardPanels(board)) {
    for (const target of panel.targets ?? []) queries.push({ where: `panel "${panel.title}" ${target.refId}`, expr: target.expr });
  }
  for (const variable of board.templating.list) {
    if (variable.type !== 'query') continue;
    const query: string = typeof variable.query === 'string' ? variable.query : variable.query.query;
    // label_values(selector, label): only the selector is PromQL.
    const labelValues = /^label_values\((.*),\s*[a-zA-Z_]\w*\)$/.exec(query.trim());
    queries.push({ where: `variable ${variable.name}`, expr: labelValues ? labelValues[1] : query });
  }
  return queries;
}

/** PromQL words that can stand where a metric name does (the functions are told apart by their "("). */
const PROMQL_KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'inf', 'nan', 'atan2']);

/**
 * The metric names an expression reads. Strings, label matchers, ranges, grouping clauses and
 * Grafana variables are removed first; what is left that looks like a name and is not a
 * function call or a keyword is a metric name (a recorded series counts as one).
 */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/(?<![\w:.$])[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const rest = stripped.slice(match.index! + match[0].length);
    if (/^\s*\(/.test(rest)) continue; // a function or an aggregation
    if (PROMQL_KEYWORDS.has(match[0].toLowerCase())) continue;
    names.add(match[0]);
  }
  return [...names];
}

/**
 * The series names an exposition offers: every sample's name, and for each declared family
 * (# TYPE) the names its samples take, so a labelled counter that has not counted yet
 * (e.g. coffeebuddy_kafka_consumer_crashes_total) still counts as exported.
 */
export function expositionNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) {
      const [, name, kind] = type;
      if (kind === 'histogram') ['_bucket', '_sum', '_count'].forEach((suffix) => names.add(name + suffix));
      else if (kind === 'summary') [name, `${name}_sum`, `${name}_count`].forEach((n) => names.add(n));
      else names.add(name);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[\s{]/.exec(line);
    if (sample) names.add(sample[1]);
  }
  return names;
}

export interface ToolResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function promtool(args: string[], input?: string): ToolResult {
  const result = spawnSync(PROMTOOL, args, { input, encoding: 'utf8', cwd: ROOT, timeout: 30000 });
  if (result.error) throw new Error(`cannot run ${PROMTOOL} (apt-get install prometheus): ${result.error.message}`);
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A real Prometheus server on a loopback port, with its own storage in a temporary directory. */
export class PrometheusServer {
  private output = '';
  private exited?: Promise<void>;

  private constructor(
    readonly url: string,
    private readonly dir: string,
    private readonly child: ChildProcess,
  ) {
    child.stdout?.on('data', (chunk) => (this.output += String(chunk)));
    child.stderr?.on('data', (chunk) => (this.output += String(chunk)));
    this.exited = new Promise((resolveExit) => child.once('exit', () => resolveExit()));
  }

  /** `config` is the prometheus.yml content; rule files are given by absolute path. */
  static async start(config: object): Promise<PrometheusServer> {
    const dir = tempDir('coffeebuddy-prometheus-');
    const configFile = join(dir, 'prometheus.yml');
    writeFileSync(configFile, JSON.stringify(config, null, 2)); // JSON is YAML
    const port = await freePort();
    const child = spawn(
      PROMETHEUS,
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const server = new PrometheusServer(`http://127.0.0.1:${port}`, dir, child);
    const failed = new Promise<never>((_, reject) => {
      child.once('error', (error) => reject(new Error(`cannot run ${PROMETHEUS} (apt-get install prometheus): ${error.message}`)));
      child.once('exit', (code) => reject(new Error(`prometheus exited with ${code}: ${server.output}`)));
    });
    failed.catch(() => undefined);
    try {
      await Promise.race([failed, waitFor(async () => (await fetch(`${server.url}/-/ready`)).ok, 'prometheus to be ready', 20000)]);
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  /** GET /api/v1/{path}; throws unless Prometheus answers status "success". */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async api(path: string, params: Record<string, string> = {}): Promise<any> {
    const response = await fetch(`${this.url}/api/v1/${path}?${new URLSearchParams(params)}`);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const body = (await response.json()) as { status: string; data?: any };
    if (body.status !== 'success') throw new Error(`${path}: ${JSON.stringify(body)}`);
    return body.data;
  }

  /** An instant query's samples, as labels and a number. */
  async query(expr: string): Promise<Array<{ metric: Record<string, string>; value: number }>> {
    const data = await this.api('query', { query: expr });
    if (data.resultType !== 'vector') throw new Error(`${expr}: expected a vector, got ${data.resultType}`);
    return data.result.map((sample: { metric: Record<string, string>; value: [number, string] }) => ({
      metric: sample.metric,
      value: Number(sample.value[1]),
    }));
  }

  get log(): string {
    return this.output;
  }

  /** SIGTERM, wait for the exit (SIGKILL after 10 s), then remove the storage. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 10000);
      await this.exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
