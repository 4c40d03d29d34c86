import { ConfigurationError, parseSettings } from './settings';

function problemsOf(env: Record<string, string>): string[] {
  try {
    parseSettings(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return [...(error as ConfigurationError).problems];
  }
  throw new Error('expected a ConfigurationError');
}

describe('parseSettings', () => {
  it('gives the documented defaults for an empty environment', () => {
    const settings = parseSettings({});
    expect(settings.lifecycle.environment).toBe('dev');
    expect(settings.http).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(settings.log).toEqual({ level: 'info', format: 'pretty' });
    expect(settings.vault).toEqual({ addr: undefined, token: undefined });
    expect(settings.ory.baseUrl).toBeUndefined();
    expect(settings.health).toEqual({ dependencyTimeoutMs: 2000, cacheTtlMs: 2000 });
    expect(settings.kafka).toMatchObject({
      brokers: undefined,
      clientId: 'coffeebuddy',
      topicPrefix: 'coffeebuddy',
      consumerGroup: 'coffeebuddy-run-events',
      sasl: undefined,
      ssl: false,
      topicReplicationFactor: undefined,
      topicMinInsyncReplicas: undefined,
      deadLetterRetentionMs: undefined,
    });
  });

  it('reads every variable it is given', () => {
    const settings = parseSettings({
      COFFEEBUDDY_ENVIRONMENT: 'prod',
      COFFEEBUDDY_HTTP_PORT: '9090',
      VAULT_ADDR: 'https://vault.internal:8200/',
      VAULT_TOKEN: 's.abc',
      ORY_BASE_URL: 'http://kratos:4433',
      KAFKA_BOOTSTRAP_SERVERS: 'kafka-0.kafka:9092, kafka-1.kafka:9092',
      KAFKA_CLIENT_ID: 'cb',
      KAFKA_TOPIC_PREFIX: 'cb.prod',
      KAFKA_CONSUMER_GROUP: 'cb-group',
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: 'svc',
      KAFKA_SASL_PASSWORD: 'pw',
      KAFKA_SSL: 'true',
      KAFKA_TOPIC_REPLICATION_FACTOR: '3',
      KAFKA_TOPIC_MIN_INSYNC_REPLICAS: '2',
      KAFKA_DLQ_RETENTION_MS: '2592000000',
    });
    expect(settings.http.port).toBe(9090);
    expect(settings.log.format).toBe('json');
    expect(settings.vault).toEqual({ addr: 'https://vault.internal:8200', token: 's.abc' });
    expect(settings.ory.baseUrl).toBe('http://kratos:4433');
    expect(settings.kafka).toMatchObject({
      brokers: ['kafka-0.kafka:9092', 'kafka-1.kafka:9092'],
      clientId: 'cb',
      topicPrefix: 'cb.prod',
      consumerGroup: 'cb-group',
      sasl: { mechanism: 'scram-sha-512', username: 'svc', password: 'pw' },
      ssl: true,
      topicReplicationFactor: 3,
      topicMinInsyncReplicas: 2,
      deadLetterRetentionMs: 2592000000,
    });
    expect(Object.isFrozen(settings.kafka)).toBe(true);
  });

  it.each([
    ['COFFEEBUDDY_HTTP_PORT', 'abc', 'must be an integer from 1 to 65535'],
    ['COFFEEBUDDY_HTTP_PORT', '70000', 'must be an integer from 1 to 65535'],
    ['COFFEEBUDDY_HTTP_PORT', '80.5', 'must be an integer from 1 to 65535'],
    ['COFFEEBUDDY_ENVIRONMENT', 'qa', 'must be one of dev, test, staging, prod'],
    ['COFFEEBUDDY_LOG_LEVEL', 'loud', 'must be one of fatal, error, warn, info, debug, trace'],
    ['COFFEEBUDDY_DEPENDENCY_TIMEOUT_MS', '0', 'must be an integer from 100 to 60000'],
    ['VAULT_ADDR', 'vault:8200', 'must use http or https'],
    ['ORY_BASE_URL', 'not a url', 'must be an http(s) URL'],
    ['KAFKA_BOOTSTRAP_SERVERS', 'kafka:9092,kafka', 'bad entries: "kafka"'],
    ['KAFKA_BOOTSTRAP_SERVERS', 'kafka:0', 'bad entries: "kafka:0"'],
    ['KAFKA_SSL', 'maybe', 'must be true or false'],
    ['KAFKA_SASL_MECHANISM', 'gssapi', 'must be one of none, plain, scram-sha-256, scram-sha-512'],
    ['KAFKA_TOPIC_PREFIX', 'coffee buddy', 'must be letters, digits'],
    ['KAFKA_TOPIC_REPLICATION_FACTOR', '0', 'must be an integer from 1 to 32'],
    ['KAFKA_TOPIC_MIN_INSYNC_REPLICAS', 'two', 'must be an integer from 1 to 32'],
    ['KAFKA_DLQ_RETENTION_MS', '-2', 'must be an integer from -1 to'],
  ])('names %s=%j as bad', (variable, value, message) => {
    const problems = problemsOf({ [variable]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(variable);
    expect(problems[0]).toContain(message);
    expect(problems[0]).toContain(JSON.stringify(value));
  });

  it('names every bad variable in one error', () => {
    const problems = problemsOf({ COFFEEBUDDY_HTTP_PORT: 'abc', COFFEEBUDDY_ENVIRONMENT: 'qa', KAFKA_SASL_USERNAME: 'svc' });
    expect(problems.map((p) => p.split(' ')[0]).sort()).toEqual([
      'COFFEEBUDDY_ENVIRONMENT',
      'COFFEEBUDDY_HTTP_PORT',
      'KAFKA_SASL_MECHANISM',
    ]);
  });

  it.each([
    [{ KAFKA_SASL_MECHANISM: 'plain' }, ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD']],
    [{ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'svc' }, ['KAFKA_SASL_PASSWORD']],
    [{ KAFKA_SASL_PASSWORD: 'pw' }, ['KAFKA_SASL_MECHANISM']],
  ])('rejects half-configured SASL %j', (env, variables) => {
    expect(problemsOf(env).map((p) => p.split(' ')[0])).toEqual(variables);
  });

  it('defaults the handler timeout and states the retry budget as time', () => {
    expect(parseSettings({}).runEvents).toMatchObject({
      handlerTimeoutMs: 10000,
      retryBudgetMs: 30000,
      retryInitialBackoffMs: 200,
      retryMaxBackoffMs: 10000,
    });
  });

  it.each([
    [{ KAFKA_HANDLER_TIMEOUT_MS: '59000' }, 'KAFKA_HANDLER_TIMEOUT_MS must be below 59000'],
    [{ KAFKA_HANDLER_TIMEOUT_MS: ' 60000 ' }, 'KAFKA_HANDLER_TIMEOUT_MS must be below 59000'],
    [{ KAFKA_RETRY_INITIAL_BACKOFF_MS: '500', KAFKA_RETRY_MAX_BACKOFF_MS: '100' }, 'KAFKA_RETRY_MAX_BACKOFF_MS must not be below'],
    [{ KAFKA_RETRY_INITIAL_BACKOFF_MS: ' 500 ', KAFKA_RETRY_MAX_BACKOFF_MS: '100' }, 'KAFKA_RETRY_MAX_BACKOFF_MS must not be below'],
    [{ KAFKA_RETRY_BUDGET_MS: '60000', KAFKA_RETRY_OUTAGE_LIMIT_MS: '30000' }, 'KAFKA_RETRY_OUTAGE_LIMIT_MS must not be below KAFKA_RETRY_BUDGET_MS'],
    [{ KAFKA_RETRY_OUTAGE_LIMIT_MS: '1000' }, 'KAFKA_RETRY_OUTAGE_LIMIT_MS must not be below KAFKA_RETRY_BUDGET_MS'],
  ])('checks rules across variables on the parsed values %j', (env, message) => {
    const problems = problemsOf(env);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(message);
  });

  it('accepts an empty KAFKA_RETRY_MAX_BACKOFF_MS as its default, and checks the rule on that value', () => {
    expect(parseSettings({ KAFKA_RETRY_MAX_BACKOFF_MS: '' }).runEvents.retryMaxBackoffMs).toBe(10000);
    expect(parseSettings({ KAFKA_RETRY_MAX_BACKOFF_MS: '  ', KAFKA_RETRY_INITIAL_BACKOFF_MS: '' }).runEvents.retryMaxBackoffMs).toBe(10000);
    expect(problemsOf({ KAFKA_RETRY_MAX_BACKOFF_MS: '', KAFKA_RETRY_INITIAL_BACKOFF_MS: '20000' })).toEqual([
      expect.stringContaining('KAFKA_RETRY_MAX_BACKOFF_MS must not be below KAFKA_RETRY_INITIAL_BACKOFF_MS'),
    ]);
  });

  it('reports a malformed value once, not again through a rule across variables', () => {
    const problems = problemsOf({ KAFKA_HANDLER_TIMEOUT_MS: 'ten seconds', KAFKA_RETRY_MAX_BACKOFF_MS: 'soon' });
    expect(problems.map((p) => p.split(' ')[0]).sort()).toEqual(['KAFKA_HANDLER_TIMEOUT_MS', 'KAFKA_RETRY_MAX_BACKOFF_MS']);
  });

  it('rejects min.insync.replicas above the replication factor', () => {
    expect(problemsOf({ KAFKA_TOPIC_REPLICATION_FACTOR: '2', KAFKA_TOPIC_MIN_INSYNC_REPLICAS: '3' })).toEqual([
      expect.stringContaining('KAFKA_TOPIC_MIN_INSYNC_REPLICAS must not be above KAFKA_TOPIC_REPLICATION_FACTOR'),
    ]);
  });

  it('refuses a dedupe window above 100,000 ids, which the memory budget does not hold, and accepts 100,000', () => {
    const [problem] = problemsOf({ KAFKA_DEDUPE_WINDOW_SIZE: '100001' });
    expect(problem).toContain('KAFKA_DEDUPE_WINDOW_SIZE');
    expect(problem).toContain('"100001"');
    expect(parseSettings({ KAFKA_DEDUPE_WINDOW_SIZE: '100000' }).runEvents.dedupeWindowSize).toBe(100_000);
  });

  it('bounds the handlers in flight at 16 by default, accepts 1 to 1024, and refuses 0 and fractions', () => {
    expect(parseSettings({}).kafka.maxInFlight).toBe(16);
    expect(parseSettings({ KAFKA_MAX_IN_FLIGHT: '1' }).kafka.maxInFlight).toBe(1);
    expect(parseSettings({ KAFKA_MAX_IN_FLIGHT: '1024' }).kafka.maxInFlight).toBe(1024);
    for (const bad of ['0', '1025', '2.5']) {
      const [problem] = problemsOf({ KAFKA_MAX_IN_FLIGHT: bad });
      expect(problem).toContain('KAFKA_MAX_IN_FLIGHT');
    }
  });

  it('never echoes a secret value', () => {
    const problems = problemsOf({ KAFKA_SASL_PASSWORD: 'hunter2-secret', VAULT_TOKEN: 's.secret' });
    const message = new ConfigurationError(problems).message;
    expect(message).toContain('KAFKA_SASL_MECHANISM');
    expect(message).not.toContain('hunter2-secret');
  });
});

describe('tracing settings (OTEL_*)', () => {
  it('leaves tracing off when no exporter and no OTLP endpoint is set', () => {
    expect(parseSettings({}).tracing).toEqual({
      enabled: false,
      serviceName: 'coffeebuddy-runtime',
      exporter: 'none',
      otlpEndpoint: 'http://localhost:4318',
      zipkinEndpoint: 'http://localhost:9411/api/v2/spans',
      sampler: 'parentbased_always_on',
      samplerRatio: 1,
    });
  });

  it('turns tracing on with an OTLP endpoint alone', () => {
    expect(parseSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).tracing).toMatchObject({
      enabled: true,
      exporter: 'otlp',
      otlpEndpoint: 'http://collector:4318',
    });
  });

  it('reads every variable it is given', () => {
    const tracing = parseSettings({
      OTEL_SERVICE_NAME: 'coffee',
      OTEL_TRACES_EXPORTER: 'Zipkin',
      OTEL_EXPORTER_ZIPKIN_ENDPOINT: 'http://zipkin:9411/api/v2/spans',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
    }).tracing;
    expect(tracing).toMatchObject({
      enabled: true,
      serviceName: 'coffee',
      exporter: 'zipkin',
      zipkinEndpoint: 'http://zipkin:9411/api/v2/spans',
      sampler: 'parentbased_traceidratio',
      samplerRatio: 0.25,
    });
  });

  it('keeps tracing off with the exporter none or the SDK disabled, whatever else is set', () => {
    expect(parseSettings({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }).tracing.enabled).toBe(false);
    expect(parseSettings({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' }).tracing.enabled).toBe(false);
  });

  it('names every bad OTEL_* value in the one configuration error', () => {
    const problems = problemsOf({
      OTEL_TRACES_EXPORTER: 'jaeger',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318',
      OTEL_EXPORTER_ZIPKIN_ENDPOINT: 'ftp://zipkin',
      OTEL_TRACES_SAMPLER: 'sometimes',
      OTEL_TRACES_SAMPLER_ARG: '1.5',
      OTEL_SDK_DISABLED: 'maybe',
    });
    expect(problems.map((p) => p.split(' ')[0]).sort()).toEqual([
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      'OTEL_EXPORTER_ZIPKIN_ENDPOINT',
      'OTEL_SDK_DISABLED',
      'OTEL_TRACES_EXPORTER',
      'OTEL_TRACES_SAMPLER',
      'OTEL_TRACES_SAMPLER_ARG',
    ]);
    expect(problems).toContain('OTEL_TRACES_EXPORTER must be one of otlp, zipkin, none (got "jaeger")');
    expect(problems).toContain('OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1 (got "1.5")');
    expect(problemsOf({ OTEL_TRACES_SAMPLER_ARG: 'half' })).toEqual(['OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1 (got "half")']);
  });
});
