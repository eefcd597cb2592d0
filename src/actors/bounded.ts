import type { Clock } from "../clock.ts";
import { MAX_TIMER_MS } from "./reply.ts";

/** A shutdown budget: one timer shared by every step that must finish within it. */
export class Budget {
  #clock: Clock;
  #ms: number;
  #expired: Promise<false> | undefined;
  #cancel: (() => void) | undefined;

  constructor(clock: Clock, ms: number) {
    this.#clock = clock;
    this.#ms = ms;
  }

  /** Resolves true if `work` settled within the budget (rejections count as settled). */
  async within(work: unknown): Promise<boolean> {
    if (!isThenable(work)) return true;
    const settled = Promise.resolve(work).then(
      () => true as const,
      () => true as const,
    );
    return Promise.race([settled, this.#timer()]);
  }

  /** Runs `fn` (sync or async) within the budget; what it throws goes to `onError`. */
  async run(fn: () => unknown, onError: (error: unknown) => void): Promise<boolean> {
    let result: unknown;
    try {
      result = fn();
    } catch (error) {
      onError(error);
      return true;
    }
    if (!isThenable(result)) return true;
    const settled = Promise.resolve(result).then(
      () => true as const,
      (error: unknown) => {
        onError(error);
        return true as const;
      },
    );
    return Promise.race([settled, this.#timer()]);
  }

  dispose(): void {
    this.#cancel?.();
  }

  #timer(): Promise<false> {
    this.#expired ??= new Promise<false>((resolve) => {
      if (this.#ms <= 0) return resolve(false);
      if (!(this.#ms <= MAX_TIMER_MS)) return;
      this.#cancel = this.#clock.schedule(() => resolve(false), this.#ms);
    });
    return this.#expired;
  }
}

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function"
  );
}
