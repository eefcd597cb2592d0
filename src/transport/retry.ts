import { setTimeout as sleep } from "node:timers/promises";

const MAX_DELAY_MS = 5_000;

export interface RetryOptions {
  /** Whether a failure is worth another try; any other one is thrown. */
  retryable(error: unknown): boolean;
  /** Told of each failure about to be tried again, and of the pause before it (for the log). */
  onRetry(error: unknown, attempt: number, delayMs: number): void;
  /** Ends the retries (a shutdown): a pause in progress rejects with the abort reason. */
  signal?: AbortSignal | undefined;
}

/** Runs `step` until it succeeds, pausing 0.5, 1, 2, 4, then 5 s between tries. */
export async function retrying<T>(step: () => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (error) {
      options.signal?.throwIfAborted();
      if (!options.retryable(error)) throw error;
      const delayMs = Math.min(250 * 2 ** attempt, MAX_DELAY_MS);
      options.onRetry(error, attempt, delayMs);
      await sleep(delayMs, undefined, { signal: options.signal });
    }
  }
}
