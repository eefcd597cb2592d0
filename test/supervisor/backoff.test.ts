import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type BackoffState, INITIAL_BACKOFF, nextBackoff } from "../../src/supervisor/backoff.ts";

const policy = { minBackoffMs: 100, maxBackoffMs: 1_000, jitter: 0, resetAfterMs: 10_000 };

describe("nextBackoff", () => {
  it("doubles from minBackoffMs up to maxBackoffMs", () => {
    let state: BackoffState = INITIAL_BACKOFF;
    const delays: number[] = [];
    let now = 0;
    for (let i = 0; i < 6; i++) {
      const decision = nextBackoff(state, now, policy, () => 0);
      delays.push(decision.delayMs);
      state = decision.state;
      now += decision.delayMs + 1;
    }
    expect(delays).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it("starts again from minBackoffMs after a quiet period since the last restart", () => {
    const first = nextBackoff(INITIAL_BACKOFF, 0, policy, () => 0);
    const second = nextBackoff(first.state, 200, policy, () => 0);
    expect(second.delayMs).toBe(200);
    const afterQuiet = nextBackoff(second.state, 200 + 200 + 10_000, policy, () => 0);
    expect(afterQuiet.delayMs).toBe(100);
    expect(afterQuiet.state.attempt).toBe(1);
  });

  it("takes off at most the jitter fraction, never going below zero or above the cap", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 500 }),
        fc.integer({ min: 0, max: 5_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.integer({ min: 0, max: 80 }),
        (min, extra, jitter, random, attempt) => {
          const p = { minBackoffMs: min, maxBackoffMs: min + extra, jitter, resetAfterMs: 1e9 };
          const state = { attempt, restartedAt: 0 };
          const { delayMs } = nextBackoff(state, 1, p, () => random);
          const base = Math.min(p.maxBackoffMs, min * 2 ** Math.min(attempt, 52));
          expect(Number.isFinite(delayMs)).toBe(true);
          expect(delayMs).toBeGreaterThanOrEqual(Math.floor(base * (1 - jitter)));
          expect(delayMs).toBeLessThanOrEqual(p.maxBackoffMs);
        },
      ),
    );
  });
});
