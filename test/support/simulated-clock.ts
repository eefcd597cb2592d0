import type { Clock } from "../../src/clock.ts";

interface Timer {
  due: number;
  seq: number;
  fn: () => void;
  delayMs: number;
}

/**
 * A Clock whose time moves only when a test calls `advance(ms)`: timers due by then run in due
 * order, synchronously, each seeing `now()` at its due time. Back-off and intensity tests use it
 * instead of sleeping.
 */
export class SimulatedClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: Timer[] = [];

  constructor(start = 1_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  schedule(fn: () => void, ms: number): () => void {
    const timer: Timer = { due: this.#now + Math.max(0, ms), seq: this.#seq++, fn, delayMs: ms };
    this.#timers.push(timer);
    return () => {
      this.#timers = this.#timers.filter((each) => each !== timer);
    };
  }

  /** Delays (ms, as scheduled) of the timers still pending, soonest first. */
  get pending(): number[] {
    return this.#sorted().map((timer) => timer.delayMs);
  }

  /** Moves time forward by `ms`, running every timer that falls due on the way. */
  advance(ms: number): void {
    const until = this.#now + ms;
    for (;;) {
      const next = this.#sorted()[0];
      if (next === undefined || next.due > until) break;
      this.#timers = this.#timers.filter((each) => each !== next);
      this.#now = next.due;
      next.fn();
    }
    this.#now = until;
  }

  #sorted(): Timer[] {
    return [...this.#timers].sort((a, b) => a.due - b.due || a.seq - b.seq);
  }
}
