/**
 * Time, injected: production code asks a Clock, tests hand in a simulated one and advance it,
 * so back-off, intensity windows and heartbeats are tested without sleeping.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` once after `ms`; the returned function cancels it (a no-op once it ran). */
  schedule(fn: () => void, ms: number): () => void;
}

export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  schedule(fn: () => void, ms: number) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
});
