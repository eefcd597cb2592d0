import { describe, expect, it } from "vitest";
import { JobTimers } from "../../src/jobs/job-timers.ts";
import { SimulatedClock } from "../support/simulated-clock.ts";

function timers(start: number, tickMs = 1_000) {
  const clock = new SimulatedClock(start);
  const told: [string, number][] = [];
  const t = new JobTimers(clock, tickMs, (kind) => told.push([kind, clock.now()]));
  return { clock, told, t };
}

describe("a job actor's timers", () => {
  it("tick on the process's grid, at least half a period after the last", () => {
    const { clock, told, t } = timers(10_300);
    t.nextTick();
    clock.advance(5_000);
    t.nextTick(); // now 15_300: the next grid point, 16_000, is 700 ms away
    clock.advance(5_000);
    const { told: early, t: late, clock: c2 } = timers(10_800);
    late.nextTick(); // 200 ms to 11_000 is under half a period: 12_000 instead
    c2.advance(5_000);
    expect(told).toEqual([
      ["tick", 11_000],
      ["tick", 16_000],
    ]);
    expect(early).toEqual([["tick", 12_000]]);
  });

  it("coalesce flushes: many changes within 100 ms, one flush; the deadline fires at once when past", () => {
    const { clock, told, t } = timers(0);
    t.flushSoon();
    clock.advance(50);
    t.flushSoon();
    clock.advance(100);
    t.flushSoon();
    t.deadline(-5);
    clock.advance(200);
    expect(told).toEqual([
      ["flush", 100],
      ["timeout", 150],
      ["flush", 250],
    ]);
  });

  it("are all cancelled when the actor stops", () => {
    const { clock, told, t } = timers(0);
    t.nextTick();
    t.flushSoon();
    t.deadline(500);
    t.cancel();
    clock.advance(10_000);
    expect(told).toEqual([]);
  });
});
