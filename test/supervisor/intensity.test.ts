import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type RestartHistory, registerRestart } from "../../src/supervisor/intensity.ts";

const policy = { maxRestarts: 3, periodMs: 5_000 };

function replay(times: number[]): boolean[] {
  let history: RestartHistory = [];
  return times.map((now) => {
    const verdict = registerRestart(history, now, policy);
    history = verdict.history;
    return verdict.escalate;
  });
}

describe("registerRestart", () => {
  it("allows maxRestarts restarts within the period and escalates on the next one", () => {
    expect(replay([0, 1_000, 2_000, 3_000])).toEqual([false, false, false, true]);
  });

  it("forgets restarts older than the period", () => {
    expect(replay([0, 1_000, 2_000, 5_000, 6_000])).toEqual([false, false, false, false, false]);
  });

  it("escalates at the first failure when maxRestarts is 0", () => {
    expect(registerRestart([], 0, { maxRestarts: 0, periodMs: 1_000 }).escalate).toBe(true);
  });

  it("escalates exactly when more than maxRestarts fall inside one sliding window", () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: 200 }), { maxLength: 40 }),
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 1, max: 1_000 }),
        (gaps, maxRestarts, periodMs) => {
          let now = 0;
          let history: RestartHistory = [];
          const times: number[] = [];
          for (const gap of gaps) {
            now += gap;
            times.push(now);
            const verdict = registerRestart(history, now, { maxRestarts, periodMs });
            history = verdict.history;
            const inWindow = times.filter((at) => now - at < periodMs).length;
            expect(verdict.escalate).toBe(inWindow > maxRestarts);
          }
        },
      ),
    );
  });
});
