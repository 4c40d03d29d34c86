import { z } from 'zod';
import { baseUrlVar, booleanVar, enumVar, optionalText } from './env-schema';
import { configOf, settingsSlice } from './settings';

export const TRACE_EXPORTERS = ['otlp', 'zipkin', 'none'] as const;
export const TRACE_SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;
export type TraceSampler = (typeof TRACE_SAMPLERS)[number];

/** OpenTelemetry tracing, from the standard OTEL_* variables. */
export class TracingSettings {
  /** On only when an exporter is chosen or an OTLP endpoint is given. */
  readonly enabled!: boolean;
  readonly serviceName!: string;
  readonly exporter!: 'otlp' | 'zipkin' | 'none';
  /** OTLP/HTTP base URL; traces go to `{endpoint}/v1/traces`. */
  readonly otlpEndpoint!: string;
  readonly zipkinEndpoint!: string;
  readonly sampler!: TraceSampler;
  /** Ratio of the traceidratio samplers, from 0 to 1. */
  readonly samplerRatio!: number;
}

// The OpenTelemetry specification's defaults.
const OTLP_DEFAULT_ENDPOINT = 'http://localhost:4318';
const ZIPKIN_DEFAULT_ENDPOINT = 'http://localhost:9411/api/v2/spans';

const ratio = z
  .string()
  .optional()
  .transform((raw, ctx) => {
    if (raw === undefined || raw.trim() === '') return 1;
    const value = Number(raw);
    if (!/^\s*\d*\.?\d+\s*$/.test(raw) || value > 1) {
      ctx.addIssue({ code: 'custom', message: 'must be a number from 0 to 1' });
      return z.NEVER;
    }
    return value;
  });

export const tracingEnvSchema = z.object({
  OTEL_SDK_DISABLED: booleanVar(false),
  OTEL_SERVICE_NAME: optionalText(),
  OTEL_TRACES_EXPORTER: z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === '') return undefined;
      const value = raw.trim().toLowerCase();
      if (!(TRACE_EXPORTERS as readonly string[]).includes(value)) {
        ctx.addIssue({ code: 'custom', message: `must be one of ${TRACE_EXPORTERS.join(', ')}` });
        return z.NEVER;
      }
      return value as TracingSettings['exporter'];
    }),
  OTEL_EXPORTER_OTLP_ENDPOINT: baseUrlVar(),
  OTEL_EXPORTER_ZIPKIN_ENDPOINT: baseUrlVar(),
  OTEL_TRACES_SAMPLER: enumVar(TRACE_SAMPLERS, 'parentbased_always_on'),
  OTEL_TRACES_SAMPLER_ARG: ratio,
});

type TracingEnv = z.output<typeof tracingEnvSchema>;

function toTracingSettings(env: TracingEnv): TracingSettings {
  // An OTLP endpoint alone turns tracing on, as the OpenTelemetry SDKs do; `none` turns it off whatever else is set.
  const exporter = env.OTEL_TRACES_EXPORTER ?? (env.OTEL_EXPORTER_OTLP_ENDPOINT ? 'otlp' : 'none');
  return {
    enabled: !env.OTEL_SDK_DISABLED && exporter !== 'none',
    serviceName: env.OTEL_SERVICE_NAME ?? 'coffeebuddy-runtime',
    exporter,
    otlpEndpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT ?? OTLP_DEFAULT_ENDPOINT,
    zipkinEndpoint: env.OTEL_EXPORTER_ZIPKIN_ENDPOINT ?? ZIPKIN_DEFAULT_ENDPOINT,
    sampler: env.OTEL_TRACES_SAMPLER,
    samplerRatio: env.OTEL_TRACES_SAMPLER_ARG,
  };
}

/** Tracing's slice of the settings: the standard OTEL_* variables. */
export const tracingSettings = settingsSlice({
  env: tracingEnvSchema.shape,
  toConfig: (e) => ({ tracing: configOf(TracingSettings, toTracingSettings(e)) }),
});
