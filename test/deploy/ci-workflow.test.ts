import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { DEFAULT_KAFKA_VERSION } from '../../scripts/kafka-broker';
import { ROOT } from './manifests';

/** The release before Kafka 4 that the suite keeps passing on (the README's third command). */
const KAFKA_3 = '3.9.2';

interface Step {
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
}

describe('GitHub workflow .github/workflows/ci.yml', () => {
  const workflow = parse(readFileSync(join(ROOT, '.github/workflows/ci.yml'), 'utf8'));
  const steps = (job: string): Step[] => workflow.jobs[job].steps;
  const uses = (job: string, action: string) => steps(job).find((s) => s.uses?.startsWith(`${action}@`));

  it('runs on push and pull request', () => {
    expect(Object.keys(workflow.on).sort()).toEqual(['pull_request', 'push']);
  });

  it('tests with Node 24 and Java 17, dependency caches, and the same commands as .ci/run', () => {
    expect(uses('test', 'actions/setup-node')?.with).toMatchObject({ 'node-version': '24', cache: 'npm' });
    expect(uses('test', 'actions/setup-java')?.with).toMatchObject({ 'java-version': '17', cache: 'maven' });
    expect(uses('test', 'actions/cache')?.with).toEqual({
      path: '.cache/kafka-${{ matrix.kafka }}',
      key: "kafka-${{ matrix.kafka }}-${{ hashFiles('scripts/kafka/pom.xml') }}",
    });
    expect(steps('test').map((s) => s.run).filter(Boolean)).toEqual(['bash .ci/run']);
  });

  it(`runs the suite on Kafka ${DEFAULT_KAFKA_VERSION} (the default) and ${KAFKA_3} as parallel jobs of a matrix`, () => {
    const job = workflow.jobs.test;
    expect(job.strategy).toEqual({ 'fail-fast': false, matrix: { kafka: [DEFAULT_KAFKA_VERSION, KAFKA_3] } });
    // The broker script reads KAFKA_VERSION; each job keeps its own reports.
    expect(job.env).toEqual({ KAFKA_VERSION: '${{ matrix.kafka }}' });
    expect(uses('test', 'actions/upload-artifact')?.with?.name).toBe('test-reports-kafka-${{ matrix.kafka }}');
  });

  it(`gives the README's command for Kafka ${KAFKA_3}, the one the second job runs`, () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme).toMatch(new RegExp(`^KAFKA_VERSION=${KAFKA_3.replace(/\./g, '\\.')} npm test\\b`, 'm'));
  });

  it('has .ci/run run exactly the README\'s test command, with no set-up of its own', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme).toMatch(/^npm ci && npm test\b/m);
    const commands = readFileSync(join(ROOT, '.ci/run'), 'utf8')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#') && !line.startsWith('set ') && !line.startsWith('cd '));
    expect(commands).toEqual(['npm ci && npm test']);
  });

  it('uploads the JUnit report and the coverage even when the tests fail', () => {
    const upload = uses('test', 'actions/upload-artifact');
    expect(upload?.if).toBe('always()');
    expect(String(upload?.with?.path).split('\n').filter(Boolean)).toEqual(['reports/junit.xml', 'reports/coverage']);
  });

  it('builds the image without pushing it', () => {
    expect(uses('image', 'docker/build-push-action')?.with).toMatchObject({ context: '.', push: false });
  });
});
