/** Restart back-off: exponential from `minBackoffMs` to `maxBackoffMs`, with jitter. */
export interface BackoffPolicy {
  minBackoffMs: number;
  maxBackoffMs: number;
  /** Fraction of the delay taken off at random (0 = none, 1 = full jitter). */
  jitter: number;
  /** A child that ran this long since its last restart starts again from `minBackoffMs`. */
  resetAfterMs: number;
}

/** Per-child back-off memory. */
export interface BackoffState {
  /** Restarts in the current streak (0 = none yet). */
  attempt: number;
  /** When the last restart was due (failure time + its delay). */
  restartedAt: number | undefined;
}

export const INITIAL_BACKOFF: BackoffState = Object.freeze({
  attempt: 0,
  restartedAt: undefined,
});

export interface BackoffDecision {
  delayMs: number;
  state: BackoffState;
}

/**
 * The delay before the next restart of a child that failed at `now`. Pure; `random` returns a
 * number in [0, 1). The streak resets after a quiet period of `resetAfterMs` since the last
 * restart; the base delay doubles per attempt and is capped; jitter takes off up to `jitter` of it.
 */
export function nextBackoff(
  state: BackoffState,
  now: number,
  policy: BackoffPolicy,
  random: () => number,
): BackoffDecision {
  const quiet = state.restartedAt === undefined || now - state.restartedAt >= policy.resetAfterMs;
  const attempt = quiet ? 0 : state.attempt;
  // Capping the exponent keeps 0 * 2^n finite (0 ms stays 0 ms, never NaN).
  const base = Math.min(policy.maxBackoffMs, policy.minBackoffMs * 2 ** Math.min(attempt, 52));
  const delayMs = Math.max(0, Math.round(base * (1 - policy.jitter * random())));
  return { delayMs, state: { attempt: attempt + 1, restartedAt: now + delayMs } };
}
