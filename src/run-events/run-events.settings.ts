import { z } from 'zod';
import { integerVar } from '../runtime/env-schema';
import { configOf, EnvProblem, settingsSlice } from '../runtime/settings';
import { REBALANCE_TIMEOUT_MS } from '../kafka/kafka.config';

/** Time a handler attempt gets to settle after its timeout fires, before it is abandoned. */
export const HANDLER_GRACE_MS = 1000;

/** The largest dedupe window: at about 120 bytes an id, 12 MiB of the memory budget. */
export const DEDUPE_WINDOW_MAX = 100_000;

/** How run events are handled: the run-event feature's slice of the settings (runEventsSettings below). */
export class RunEventsConfig {
  /** An attempt that runs longer fails; its AbortSignal fires. */
  readonly handlerTimeoutMs!: number;
  /** Failures of one event are retried for this long, then it is dead-lettered. */
  readonly retryBudgetMs!: number;
  readonly retryInitialBackoffMs!: number;
  readonly retryMaxBackoffMs!: number;
  /** Transient failures while no attempt in the process succeeds (an outage) are waited out this long, without spending the retry budget. */
  readonly retryOutageLimitMs!: number;
  readonly dedupeWindowSize!: number;
  readonly maxEventBytes!: number;
}

const runEventsEnvSchema = z.object({
  KAFKA_HANDLER_TIMEOUT_MS: integerVar(100, 300000, 10000),
  KAFKA_RETRY_BUDGET_MS: integerVar(0, 3_600_000, 30000),
  KAFKA_RETRY_INITIAL_BACKOFF_MS: integerVar(1, 60000, 200),
  KAFKA_RETRY_MAX_BACKOFF_MS: integerVar(1, 300000, 10000),
  // Six hours: a provider's outage of an afternoon dead-letters nothing. At most a week.
  KAFKA_RETRY_OUTAGE_LIMIT_MS: integerVar(0, 604_800_000, 21_600_000),
  // About 120 bytes an id: the maximum is what the pod's memory budget holds (README, "Delivery guarantees and their limits").
  KAFKA_DEDUPE_WINDOW_SIZE: integerVar(0, DEDUPE_WINDOW_MAX, 100_000),
  KAFKA_MAX_EVENT_BYTES: integerVar(256, 10_485_760, 65536),
});

type RunEventsEnv = z.output<typeof runEventsEnvSchema>;

/** Rules across variables, on their parsed values (a variable that did not parse is absent: it is reported on its own). */
function runEventsCrossProblems(env: Partial<RunEventsEnv>): EnvProblem[] {
  const problems: EnvProblem[] = [];
  const { KAFKA_RETRY_INITIAL_BACKOFF_MS: initial, KAFKA_RETRY_MAX_BACKOFF_MS: max } = env;
  if (initial !== undefined && max !== undefined && max < initial) {
    problems.push({ variable: 'KAFKA_RETRY_MAX_BACKOFF_MS', message: 'must not be below KAFKA_RETRY_INITIAL_BACKOFF_MS' });
  }
  const { KAFKA_RETRY_BUDGET_MS: budget, KAFKA_RETRY_OUTAGE_LIMIT_MS: outageLimit } = env;
  if (budget !== undefined && outageLimit !== undefined && outageLimit < budget) {
    problems.push({ variable: 'KAFKA_RETRY_OUTAGE_LIMIT_MS', message: 'must not be below KAFKA_RETRY_BUDGET_MS' });
  }
  // A rebalance waits for a member whose handler is running: the attempt must end, grace included, before the rebalance times out.
  const handlerTimeout = env.KAFKA_HANDLER_TIMEOUT_MS;
  if (handlerTimeout !== undefined && handlerTimeout + HANDLER_GRACE_MS >= REBALANCE_TIMEOUT_MS) {
    problems.push({
      variable: 'KAFKA_HANDLER_TIMEOUT_MS',
      message: `must be below ${REBALANCE_TIMEOUT_MS - HANDLER_GRACE_MS} (the consumer's ${REBALANCE_TIMEOUT_MS} ms rebalance timeout less the ${HANDLER_GRACE_MS} ms grace of a timed-out handler)`,
    });
  }
  return problems;
}

/** The run-event feature's slice of the settings: handler time, retries, dedupe, event size. */
export const runEventsSettings = settingsSlice({
  env: runEventsEnvSchema.shape,
  check: runEventsCrossProblems,
  toConfig: (e) => ({
    runEvents: configOf(RunEventsConfig, {
      handlerTimeoutMs: e.KAFKA_HANDLER_TIMEOUT_MS,
      retryBudgetMs: e.KAFKA_RETRY_BUDGET_MS,
      retryInitialBackoffMs: e.KAFKA_RETRY_INITIAL_BACKOFF_MS,
      retryMaxBackoffMs: e.KAFKA_RETRY_MAX_BACKOFF_MS,
      retryOutageLimitMs: e.KAFKA_RETRY_OUTAGE_LIMIT_MS,
      dedupeWindowSize: e.KAFKA_DEDUPE_WINDOW_SIZE,
      maxEventBytes: e.KAFKA_MAX_EVENT_BYTES,
    }),
  }),
});
