import { z } from 'zod';
import { KafkaConfig, kafkaCrossProblems, kafkaEnvSchema, toKafkaConfig } from '../kafka/kafka.config';
import { baseUrlVar, enumVar, integerVar, optionalText } from './env-schema';
import { toTracingSettings, tracingEnvSchema, TracingSettings } from './tracing.config';

export const ENVIRONMENTS = ['dev', 'test', 'staging', 'prod'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

export class HttpSettings {
  readonly host!: string;
  readonly port!: number;
}

export class LogSettings {
  readonly level!: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  readonly format!: 'json' | 'pretty';
}

export class VaultSettings {
  readonly addr?: string;
  readonly token?: string;
}

export class OrySettings {
  readonly baseUrl?: string;
}

export class HealthSettings {
  /** Bound of one dependency check (Vault, Ory). */
  readonly dependencyTimeoutMs!: number;
  /** How long a dependency check result is reused by later probes. */
  readonly cacheTtlMs!: number;
}

export class LifecycleSettings {
  readonly environment!: Environment;
  /** Time allowed for the drain on SIGTERM before the process gives up and exits 1. */
  readonly shutdownTimeoutMs!: number;
}

export interface Settings {
  readonly http: HttpSettings;
  readonly log: LogSettings;
  readonly vault: VaultSettings;
  readonly ory: OrySettings;
  readonly health: HealthSettings;
  readonly lifecycle: LifecycleSettings;
  readonly kafka: KafkaConfig;
  readonly tracing: TracingSettings;
}

/** Variables whose values are never echoed, in errors or logs. */
export const SECRET_VARIABLES = ['VAULT_TOKEN', 'KAFKA_SASL_PASSWORD'] as const;

const envSchema = z
  .object({
    COFFEEBUDDY_ENVIRONMENT: enumVar(ENVIRONMENTS, 'dev'),
    COFFEEBUDDY_HTTP_HOST: z
      .string()
      .optional()
      .transform((raw) => raw?.trim() || '0.0.0.0'),
    COFFEEBUDDY_HTTP_PORT: integerVar(1, 65535, 8080),
    COFFEEBUDDY_LOG_LEVEL: enumVar(['fatal', 'error', 'warn', 'info', 'debug', 'trace'], 'info'),
    COFFEEBUDDY_LOG_FORMAT: enumVar(['auto', 'json', 'pretty'], 'auto'),
    COFFEEBUDDY_DEPENDENCY_TIMEOUT_MS: integerVar(100, 60000, 2000),
    COFFEEBUDDY_HEALTH_CACHE_TTL_MS: integerVar(0, 60000, 2000),
    COFFEEBUDDY_SHUTDOWN_TIMEOUT_MS: integerVar(1000, 600000, 20000),
    VAULT_ADDR: baseUrlVar(),
    VAULT_TOKEN: optionalText(),
    ORY_BASE_URL: baseUrlVar(),
  })
  .extend(kafkaEnvSchema.shape)
  .extend(tracingEnvSchema.shape);

/** Every environment variable the service reads. */
export const SETTINGS_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

export class ConfigurationError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigurationError';
  }
}

/** Validates every variable at once and throws one ConfigurationError naming each bad one. */
export function parseSettings(env: Readonly<Record<string, string | undefined>>): Settings {
  const result = envSchema.safeParse(env);
  const problems = [
    ...(result.error?.issues ?? []).map((issue) => ({ variable: String(issue.path[0]), message: issue.message })),
    ...kafkaCrossProblems(env),
  ];
  if (!result.success || problems.length > 0) {
    throw new ConfigurationError(
      problems.map(({ variable, message }) => {
        const raw = env[variable];
        const secret = (SECRET_VARIABLES as readonly string[]).includes(variable);
        return `${variable} ${message}${raw === undefined || secret ? '' : ` (got ${JSON.stringify(raw)})`}`;
      }),
    );
  }
  const e = result.data;
  const environment = e.COFFEEBUDDY_ENVIRONMENT;
  return deepFreeze({
    http: { host: e.COFFEEBUDDY_HTTP_HOST, port: e.COFFEEBUDDY_HTTP_PORT },
    log: {
      level: e.COFFEEBUDDY_LOG_LEVEL,
      // Readable in development, JSON lines everywhere else (containers).
      format: e.COFFEEBUDDY_LOG_FORMAT === 'auto' ? (environment === 'dev' ? 'pretty' : 'json') : e.COFFEEBUDDY_LOG_FORMAT,
    },
    vault: { addr: e.VAULT_ADDR, token: e.VAULT_TOKEN },
    ory: { baseUrl: e.ORY_BASE_URL },
    health: { dependencyTimeoutMs: e.COFFEEBUDDY_DEPENDENCY_TIMEOUT_MS, cacheTtlMs: e.COFFEEBUDDY_HEALTH_CACHE_TTL_MS },
    lifecycle: { environment, shutdownTimeoutMs: e.COFFEEBUDDY_SHUTDOWN_TIMEOUT_MS },
    kafka: toKafkaConfig(e),
    tracing: toTracingSettings(e),
  });
}

/** The only place that reads the process environment. */
export function settingsFromProcessEnv(): Settings {
  return parseSettings(process.env);
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (child && typeof child === 'object') deepFreeze(child);
  }
  return Object.freeze(value);
}
