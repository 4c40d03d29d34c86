import { INestApplication, INestMicroservice } from '@nestjs/common';
import { LogCapture } from '../support/log-capture';
import { waitFor } from '../support/wait';
import { Lifecycle } from '../../src/runtime/lifecycle';
import { AppLogger } from '../../src/runtime/logger';
import { LifecycleSettings } from '../../src/runtime/settings';
import { exitOnSignals, FORCED_EXIT_CODE } from '../../src/runtime/shutdown';

/** Just enough of an application for the shutdown sequence, recording what closes when. */
function fakeApp(closeConsumer: () => Promise<void>) {
  const steps: string[] = [];
  const logs = new LogCapture();
  const lifecycle = new Lifecycle();
  const services = new Map<unknown, unknown>([
    [AppLogger, new AppLogger({ level: 'info', format: 'json' }, logs)],
    [LifecycleSettings, { environment: 'test', shutdownTimeoutMs: 200 }],
    [Lifecycle, lifecycle],
  ]);
  const consumer = {
    close: async () => {
      steps.push(`consumer closing, draining=${lifecycle.draining}`);
      await closeConsumer();
      steps.push('consumer closed');
    },
  } as unknown as INestMicroservice;
  const app = {
    get: (token: unknown) => services.get(token),
    getMicroservices: () => [consumer],
    close: async () => void steps.push('app closed'),
  } as unknown as INestApplication;
  return { app, steps, logs };
}

describe('exitOnSignals', () => {
  afterEach(() => {
    process.removeAllListeners('SIGTERM');
    process.removeAllListeners('SIGINT');
  });

  it('drains in order on SIGTERM (readiness first, consumer, then modules) and exits 0', async () => {
    const { app, steps, logs } = fakeApp(async () => undefined);
    const exits: number[] = [];
    exitOnSignals(app, (code) => exits.push(code));
    process.emit('SIGTERM');
    await waitFor(() => exits.length > 0, 'the exit');
    expect(exits).toEqual([0]);
    expect(steps).toEqual(['consumer closing, draining=true', 'consumer closed', 'app closed']);
    expect(logs.lines().map((line) => line.msg)).toEqual(['shutdown started', 'shutdown complete']);
  });

  it('exits 1 with a log line when the drain outlasts its timeout', async () => {
    const { app, steps, logs } = fakeApp(() => new Promise(() => undefined));
    const exits: number[] = [];
    exitOnSignals(app, (code) => exits.push(code));
    process.emit('SIGTERM');
    await waitFor(() => exits.length > 0, 'the exit');
    expect(exits).toEqual([1]);
    expect(steps).not.toContain('app closed');
    expect(logs.withMessage('shutdown timed out, exiting')).toEqual([expect.objectContaining({ level: 'error', timeoutMs: 200 })]);
  });

  it('exits 1 with a log line when the drain fails', async () => {
    const { app, logs } = fakeApp(async () => {
      throw new Error('consumer disconnect failed');
    });
    const exits: number[] = [];
    exitOnSignals(app, (code) => exits.push(code));
    process.emit('SIGINT');
    await waitFor(() => exits.length > 0, 'the exit');
    expect(exits).toEqual([1]);
    expect(logs.withMessage('shutdown failed')).toEqual([expect.objectContaining({ level: 'error' })]);
  });

  it('keeps draining through a second SIGTERM, and logs that it ignored it', async () => {
    let finishConsumer!: () => void;
    const { app, steps, logs } = fakeApp(() => new Promise<void>((resolve) => (finishConsumer = resolve)));
    const exits: number[] = [];
    exitOnSignals(app, (code) => exits.push(code));
    process.emit('SIGTERM', 'SIGTERM');
    await waitFor(() => steps.length > 0, 'the drain to reach the consumer');
    process.emit('SIGTERM', 'SIGTERM');
    expect(exits).toEqual([]);
    finishConsumer();
    await waitFor(() => exits.length > 0, 'the exit');
    expect(exits).toEqual([0]);
    expect(steps).toEqual(['consumer closing, draining=true', 'consumer closed', 'app closed']);
    expect(logs.lines().map((line) => line.msg)).toEqual(['shutdown started', 'shutdown already in progress, signal ignored', 'shutdown complete']);
  });

  it('exits 130 at once on a SIGINT during the drain (Ctrl-C twice)', async () => {
    const { app, steps, logs } = fakeApp(() => new Promise(() => undefined));
    const exits: number[] = [];
    exitOnSignals(app, (code) => exits.push(code));
    process.emit('SIGINT', 'SIGINT');
    await waitFor(() => steps.length > 0, 'the drain to reach the consumer');
    process.emit('SIGINT', 'SIGINT');
    expect(exits).toEqual([FORCED_EXIT_CODE]);
    expect(steps).not.toContain('app closed');
    expect(logs.withMessage('shutdown forced, exiting without finishing the drain')).toEqual([
      expect.objectContaining({ level: 'warn', signal: 'SIGINT', exitCode: 130 }),
    ]);
  });
});
