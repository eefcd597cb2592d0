import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PRIORITIES } from "../../src/contract/priorities.ts";
import { freshLanes, laneOrder } from "../../src/queue/priority.ts";

describe("laneOrder", () => {
  it("tries urgent, high, normal, low when every lane was served just now", () => {
    expect(laneOrder(freshLanes(1_000), 1_000, 5_000)).toEqual(["urgent", "high", "normal", "low"]);
  });

  it("moves a lane up one rank for every aging period it waited", () => {
    const lanes = { ...freshLanes(20_000), low: 10_000 }; // low waited two periods: rank 3 - 2
    // It ties with high, and a tie goes to the higher base priority.
    expect(laneOrder(lanes, 20_000, 5_000)).toEqual(["urgent", "high", "low", "normal"]);
  });

  it("puts a lane that waited long enough ahead of urgent", () => {
    const lanes = { ...freshLanes(40_000), low: 20_000 }; // four periods: rank 3 - 4 = -1
    expect(laneOrder(lanes, 40_000, 5_000)[0]).toBe("low");
  });

  it("keeps strict priority when every lane waited equally long", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1e9 }),
        fc.integer({ min: 1, max: 1e6 }),
        (waited, aging) => {
          expect(laneOrder(freshLanes(0), waited, aging)).toEqual([...PRIORITIES]);
        },
      ),
    );
  });
});
