import { spawn } from 'node:child_process';
import { onCleanup } from '../support/cleanup';
import { freePort } from '../support/ports';
import { testTimeout, within } from '../support/wait';

/** Jest's own start on a loaded machine, plus the setup's 5 s wait for the broker. */
const RUN_MS = 90_000;

describe('the suite with a preset KAFKA_BOOTSTRAP_SERVERS', () => {
  it(
    'stops at once with one clear line when that broker does not answer, before any test runs',
    async () => {
      const port = await freePort();
      const jest = spawn(process.execPath, [require.resolve('jest/bin/jest'), 'test/kafka/drain.test.ts', '--ci', '--reporters=default', '--selectProjects', 'integration'], {
        env: { PATH: process.env.PATH, KAFKA_BOOTSTRAP_SERVERS: `127.0.0.1:${port}` },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      onCleanup(`jest run ${jest.pid}`, () => jest.kill('SIGKILL'));
      let output = '';
      jest.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      jest.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      const code = await within(new Promise((resolve) => jest.on('close', resolve)), `the jest run to stop (output: ${output})`, RUN_MS);

      expect(code).toBe(1);
      const lines = output.split('\n').filter((line) => line.includes(`KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:${port} does not answer`));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('unset the variable to let the suite start its own');
      expect(output).not.toMatch(/\n\s+at /); // no stack trace
      expect(output).not.toContain('Tests:'); // no test ran
    },
    testTimeout(RUN_MS),
  );
});
