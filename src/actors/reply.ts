import type { Clock } from "../clock.ts";
import { AskTimeoutError } from "../errors.ts";

/** The largest delay `setTimeout` honours (2^31 - 1 ms, about 24.8 days). */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * Where an `ask`'s answer goes: a local promise, or a remote requester. The runtime settles it
 * exactly once; later settlements are ignored (a reply that arrives after the timeout is dropped).
 */
export interface Reply {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** A local `ask`: one promise, one timer, settled once. */
export class PendingAsk implements Reply {
  #resolve: (value: unknown) => void;
  #reject: (error: unknown) => void;
  #cancelTimer: (() => void) | undefined;
  #settled = false;

  constructor(resolve: (value: unknown) => void, reject: (error: unknown) => void) {
    this.#resolve = resolve;
    this.#reject = reject;
  }

  /** Arms the timeout; `target.path` names the actor in the error message. */
  arm(clock: Clock, timeoutMs: number, target: { readonly path: string }): void {
    // Past the largest timer delay Node fires at once (1 ms): treat it as no timeout.
    if (this.#settled || !(timeoutMs <= MAX_TIMER_MS)) return;
    this.#cancelTimer = clock.schedule(() => {
      this.reject(new AskTimeoutError(`ask to ${target.path} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
  }

  /** Settles with an `AbortSignal`'s reason when it fires. */
  bind(signal: AbortSignal): void {
    if (signal.aborted) {
      this.reject(signal.reason);
      return;
    }
    const onAbort = () => this.reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    const cancel = this.#cancelTimer;
    this.#cancelTimer = () => {
      cancel?.();
      signal.removeEventListener("abort", onAbort);
    };
  }

  get settled(): boolean {
    return this.#settled;
  }

  resolve(value: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#cancelTimer?.();
    this.#resolve(value);
  }

  reject(error: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#cancelTimer?.();
    this.#reject(error);
  }
}
