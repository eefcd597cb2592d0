/** Longest wait between two attempts of a task, however many came before. */
const MAX_DELAY_MS = 600_000;

/**
 * Exponential back-off with jitter: base × 2^(attempt − 1), ±25 %, at most ten minutes. The
 * jitter spreads the retries of tasks that failed together (a chunk, a NATS outage).
 */
export class Backoff {
  readonly baseMs: number;
  readonly #random: () => number;

  constructor(baseMs: number, random: () => number = Math.random) {
    this.baseMs = baseMs;
    this.#random = random;
  }

  /** The wait after failed attempt `attempt` (1-based) before the next. */
  delayMs(attempt: number): number {
    const exponential = Math.min(this.baseMs * 2 ** (attempt - 1), MAX_DELAY_MS);
    return Math.round(exponential * (0.75 + this.#random() * 0.5));
  }
}

export type AfterFailure = { retry: true; delayMs: number } | { retry: false };

/** A task's retry policy: at most `maxAttempts` attempts, the back-off between them. */
export class RetryPolicy {
  readonly maxAttempts: number;
  readonly backoff: Backoff;

  constructor(maxAttempts: number, backoff: Backoff) {
    this.maxAttempts = maxAttempts;
    this.backoff = backoff;
  }

  /** The policy a queued chunk carries (the job's `retry_policy`). */
  static of(chunk: { max_attempts: number; backoff_ms: number }, random?: () => number) {
    return new RetryPolicy(chunk.max_attempts, new Backoff(chunk.backoff_ms, random));
  }

  /** Whether attempt `attempt` (1-based) may run at all. */
  allows(attempt: number): boolean {
    return attempt <= this.maxAttempts;
  }

  /** What follows failed attempt `attempt`: another after a back-off, or none (failed for good). */
  afterFailure(attempt: number): AfterFailure {
    return attempt < this.maxAttempts
      ? { retry: true, delayMs: this.backoff.delayMs(attempt) }
      : { retry: false };
  }
}
