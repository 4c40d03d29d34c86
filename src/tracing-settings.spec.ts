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
