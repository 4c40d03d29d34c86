import { AppLogger } from './logger';

function capture() {
  const lines: string[] = [];
  const logger = new AppLogger({ level: 'info', format: 'json' }, { write: (line: string) => void lines.push(line) });
  return { logger, lines: () => lines.map((line) => JSON.parse(line)), text: () => lines.join('') };
}

describe('AppLogger', () => {
  it('writes JSON lines with level name, ISO time, service and context', () => {
    const { logger, lines } = capture();
    logger.child('Pipeline').info({ eventId: 'e-1' }, 'run event handled');
    expect(lines()[0]).toEqual({
      level: 'info',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      service: 'coffeebuddy-runtime',
      context: 'Pipeline',
      eventId: 'e-1',
      msg: 'run event handled',
    });
  });

  it('redacts secrets in the fields that may carry them', () => {
    const { logger, text } = capture();
    logger.pino.info({
      token: 's.vault-token',
      password: 'kafka-password',
      authorization: 'Bearer abc',
      sasl: { mechanism: 'plain', username: 'u', password: 'kafka-password-2' },
      headers: { 'x-vault-token': 's.header-token', authorization: 'Bearer def' },
      kafkajs: { sasl: { password: 'kafka-password-3' } },
      config: { headers: { 'X-Vault-Token': 's.axios-token' } },
    });
    for (const secret of ['s.vault-token', 'kafka-password', 'Bearer abc', 'kafka-password-2', 's.header-token', 'Bearer def', 'kafka-password-3', 's.axios-token']) {
      expect(text()).not.toContain(secret);
    }
    expect(text()).toContain('[redacted]');
  });

  it('takes Nest-style calls: message and context, errors with stack', () => {
    const { logger, lines } = capture();
    logger.log('Nest application successfully started', 'NestApplication');
    logger.error('handler failed', 'Error: boom\n    at x', 'RpcExceptionsHandler');
    logger.warn({ msg: 'structured', dependency: 'vault' }, 'DependencyCheck');
    expect(lines()).toEqual([
      expect.objectContaining({ level: 'info', context: 'NestApplication', msg: 'Nest application successfully started' }),
      expect.objectContaining({ level: 'error', context: 'RpcExceptionsHandler', stack: 'Error: boom\n    at x', msg: 'handler failed' }),
      expect.objectContaining({ level: 'warn', context: 'DependencyCheck', dependency: 'vault', msg: 'structured' }),
    ]);
  });
});
