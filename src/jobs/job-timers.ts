import type { Clock } from "../clock.ts";

/** Record changes are written at most this often (terminal states at once). */
const FLUSH_MS = 100;

/**
 * A job actor's timers: its tick, its `timeout_s` deadline and the coalesced flush of its record.
 * Each tells the actor a message of that kind, which it handles in turn like any other.
 */
export class JobTimers {
  readonly #clock: Clock;
  readonly #tickMs: number;
  readonly #tell: (kind: "tick" | "timeout" | "flush") => void;
  #cancelTick: (() => void) | undefined;
  #cancelTimeout: (() => void) | undefined;
  #cancelFlush: (() => void) | undefined;

  constructor(clock: Clock, tickMs: number, tell: (kind: "tick" | "timeout" | "flush") => void) {
    this.#clock = clock;
    this.#tickMs = tickMs;
    this.#tell = tell;
  }

  /**
   * Ticks fall on a grid shared by every job actor of the process (multiples of `tickMs` on the
   * clock), so the lease renewals of hundreds of live jobs leave in one socket write per tick
   * rather than one each, spread over the period. Ticks are half a period to a period and a half
   * apart (a timer a hair early must not tick twice), well within a lease of
   * JOB_LEASE_HEARTBEATS ticks.
   */
  nextTick(): void {
    const tickMs = this.#tickMs;
    const toGrid = tickMs - (this.#clock.now() % tickMs);
    this.#cancelTick = this.#clock.schedule(
      () => this.#tell("tick"),
      toGrid < tickMs / 2 ? toGrid + tickMs : toGrid,
    );
  }

  /** The job's deadline, at `atMs` on the clock (at once if it has passed). */
  deadline(atMs: number): void {
    this.#cancelTimeout = this.#clock.schedule(
      () => this.#tell("timeout"),
      Math.max(0, atMs - this.#clock.now()),
    );
  }

  /** A flush within FLUSH_MS, unless one is due already: many changes, one write. */
  flushSoon(): void {
    if (this.#cancelFlush) return;
    this.#cancelFlush = this.#clock.schedule(() => {
      this.#cancelFlush = undefined;
      this.#tell("flush");
    }, FLUSH_MS);
  }

  cancel(): void {
    this.#cancelFlush?.();
    this.#cancelTick?.();
    this.#cancelTimeout?.();
  }
}
