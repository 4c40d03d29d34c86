import { z } from 'zod';
import { enumVar, integerVar } from './env-schema';

/**
 * The settings mechanism. Each module brings a slice: the environment
 * variables it reads (zod), rules across them, and a factory for its typed
 * config objects. The root (src/settings.ts) composes the slices once.
 * Every variable is parsed on its own, so one error names every bad one;
 * rules across variables then run on the parsed values.
 */

export type Env = Readonly<Record<string, string | undefined>>;

/** The one read of the process environment; everything else parses what it returns. */
export function processEnv(): Env {
  return process.env;
}
export type EnvProblem = { variable: string; message: string };

/**
 * One module's part of the settings. Each config object `toConfig` returns is
 * an instance of its class: RuntimeModule provides it under that class.
 */
export interface SettingsSlice<Shape extends z.ZodRawShape, Configs extends Record<string, object>> {
  readonly env: Shape;
  /** Variables whose values are never echoed, in errors or logs. */
  readonly secrets?: readonly string[];
  /** Rules across variables, on their parsed values; a variable that did not parse is absent, being reported already. */
  readonly check?: (parsed: Partial<z.output<z.ZodObject<Shape>>>) => EnvProblem[];
  readonly toConfig: (parsed: z.output<z.ZodObject<Shape>>) => Configs;
}

/** Declares a slice, with its types inferred. */
export function settingsSlice<Shape extends z.ZodRawShape, Configs extends Record<string, object>>(
  slice: SettingsSlice<Shape, Configs>,
): SettingsSlice<Shape, Configs> {
  return slice;
}

/** A config object made an instance of its class (RuntimeModule provides it under the class). */
export function configOf<T extends object>(type: new () => T, values: T): T {
  return Object.assign(new type(), values);
}

export class ConfigurationError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigurationError';
  }
}

/** Any slice, whatever its variables: its parsed values are typed inside the slice. */
interface AnySlice {
  readonly env: z.ZodRawShape;
  readonly secrets?: readonly string[];
  readonly check?: (parsed: any) => EnvProblem[];
  readonly toConfig: (parsed: any) => Record<string, object>;
}
type Intersection<U> = (U extends unknown ? (value: U) => void : never) extends (value: infer I) => void ? I : never;
/** The settings the slices make together: every slice's config objects, by name. */
export type SettingsOf<Slices extends readonly AnySlice[]> = Intersection<ReturnType<Slices[number]['toConfig']>>;

export interface ComposedSettings<Settings> {
  /** Every environment variable read, in slice order. */
  readonly variables: readonly string[];
  readonly secrets: readonly string[];
  /** Validates every variable at once and throws one ConfigurationError naming each bad one. */
  parse(env: Env): Settings;
}

export function composeSettings<const Slices extends readonly AnySlice[]>(...slices: Slices): ComposedSettings<SettingsOf<Slices>> {
  const secrets = slices.flatMap((slice) => slice.secrets ?? []);
  const variables = slices.flatMap((slice) => Object.keys(slice.env));
  const duplicate = variables.find((variable, index) => variables.indexOf(variable) !== index);
  if (duplicate) throw new Error(`${duplicate} is read by two settings slices`);
  return {
    variables,
    secrets,
    parse(env) {
      const problems: EnvProblem[] = [];
      const parsedSlices = slices.map((slice) => {
        const parsed: Record<string, unknown> = {};
        for (const [variable, schema] of Object.entries(slice.env)) {
          const result = (schema as z.ZodType).safeParse(env[variable]);
          if (result.success) parsed[variable] = result.data;
          else problems.push(...result.error.issues.map(({ message }) => ({ variable, message })));
        }
        return parsed;
      });
      // Rules across variables come after every single-value problem, in the same message.
      slices.forEach((slice, index) => problems.push(...(slice.check?.(parsedSlices[index]) ?? [])));
      if (problems.length > 0) {
        throw new ConfigurationError(
          problems.map(({ variable, message }) => {
            const raw = env[variable];
            return `${variable} ${message}${raw === undefined || secrets.includes(variable) ? '' : ` (got ${JSON.stringify(raw)})`}`;
          }),
        );
      }
      const settings = Object.assign({}, ...slices.map((slice, index) => slice.toConfig(parsedSlices[index] as never)));
      return deepFreeze(settings) as SettingsOf<Slices>;
    },
  };
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (child && typeof child === 'object') deepFreeze(child);
  }
  return Object.freeze(value);
}

// ---- the runtime's own slice

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

export class LifecycleSettings {
  readonly environment!: Environment;
  /** Time allowed for the drain on SIGTERM before the process gives up and exits 1. */
  readonly shutdownTimeoutMs!: number;
}

export const runtimeSettings = settingsSlice({
  env: {
    COFFEEBUDDY_ENVIRONMENT: enumVar(ENVIRONMENTS, 'dev'),
    COFFEEBUDDY_HTTP_HOST: z
      .string()
      .optional()
      .transform((raw) => raw?.trim() || '0.0.0.0'),
    COFFEEBUDDY_HTTP_PORT: integerVar(1, 65535, 8080),
    COFFEEBUDDY_LOG_LEVEL: enumVar(['fatal', 'error', 'warn', 'info', 'debug', 'trace'], 'info'),
    COFFEEBUDDY_LOG_FORMAT: enumVar(['auto', 'json', 'pretty'], 'auto'),
    COFFEEBUDDY_SHUTDOWN_TIMEOUT_MS: integerVar(1000, 600000, 20000),
  },
  toConfig: (e) => {
    const environment = e.COFFEEBUDDY_ENVIRONMENT;
    return {
      http: configOf(HttpSettings, { host: e.COFFEEBUDDY_HTTP_HOST, port: e.COFFEEBUDDY_HTTP_PORT }),
      log: configOf(LogSettings, {
        level: e.COFFEEBUDDY_LOG_LEVEL,
        // Readable in development, JSON lines everywhere else (containers).
        format: e.COFFEEBUDDY_LOG_FORMAT === 'auto' ? (environment === 'dev' ? 'pretty' : 'json') : e.COFFEEBUDDY_LOG_FORMAT,
      }),
      lifecycle: configOf(LifecycleSettings, { environment, shutdownTimeoutMs: e.COFFEEBUDDY_SHUTDOWN_TIMEOUT_MS }),
    };
  },
});
