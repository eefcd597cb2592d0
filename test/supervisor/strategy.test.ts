import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { RestartType } from "../../src/supervisor/child-spec.ts";
import { shouldRestart } from "../../src/supervisor/child-spec.ts";
import { planRestart, STRATEGIES } from "../../src/supervisor/strategy.ts";

const children = (...ids: string[]) =>
  ids.map((id) => ({ id, restart: "permanent" as RestartType }));

describe("planRestart", () => {
  it("one_for_one restarts only the failed child", () => {
    expect(planRestart("one_for_one", children("a", "b", "c"), "b")).toEqual({
      stop: ["b"],
      restart: ["b"],
      remove: [],
    });
  });

  it("one_for_all stops every child last-started first and restarts them in start order", () => {
    expect(planRestart("one_for_all", children("a", "b", "c"), "b")).toEqual({
      stop: ["c", "b", "a"],
      restart: ["a", "b", "c"],
      remove: [],
    });
  });

  it("rest_for_one restarts the failed child and those started after it", () => {
    expect(planRestart("rest_for_one", children("a", "b", "c", "d"), "b")).toEqual({
      stop: ["d", "c", "b"],
      restart: ["b", "c", "d"],
      remove: [],
    });
  });

  it("stops temporary siblings caught in a restart and does not start them again", () => {
    const mixed = [
      { id: "a", restart: "permanent" as const },
      { id: "t", restart: "temporary" as const },
      { id: "c", restart: "transient" as const },
    ];
    expect(planRestart("one_for_all", mixed, "a")).toEqual({
      stop: ["c", "t", "a"],
      restart: ["a", "c"],
      remove: ["t"],
    });
  });

  it("keeps its invariants for any children, strategy and failed child", () => {
    const restartType = fc.constantFrom<RestartType>("permanent", "transient", "temporary");
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 8 }),
        fc.array(restartType, { minLength: 8, maxLength: 8 }),
        fc.constantFrom(...STRATEGIES),
        fc.nat(),
        (ids, types, strategy, pick) => {
          const list = ids.map((id, i) => ({ id, restart: types[i] ?? "permanent" }));
          const failed = list[pick % list.length]?.id as string;
          const plan = planRestart(strategy, list, failed);
          const order = list.map((child) => child.id);
          // The failed child is always stopped; stop order is exactly reverse start order.
          expect(plan.stop).toContain(failed);
          const positions = plan.stop.map((id) => order.indexOf(id));
          expect(positions).toEqual([...positions].sort((x, y) => y - x));
          // Everything stopped is either restarted (in start order) or removed, never both.
          expect([...plan.restart, ...plan.remove].sort()).toEqual([...plan.stop].sort());
          expect(plan.restart).toEqual(
            [...plan.stop].reverse().filter((id) => !plan.remove.includes(id)),
          );
          for (const id of plan.remove) {
            expect(list.find((child) => child.id === id)?.restart).toBe("temporary");
          }
        },
      ),
    );
  });
});

describe("shouldRestart", () => {
  it("follows OTP: permanent always, transient only after a crash, temporary never", () => {
    expect(shouldRestart("permanent", "crash")).toBe(true);
    expect(shouldRestart("permanent", "normal")).toBe(true);
    expect(shouldRestart("transient", "crash")).toBe(true);
    expect(shouldRestart("transient", "normal")).toBe(false);
    expect(shouldRestart("temporary", "crash")).toBe(false);
    expect(shouldRestart("temporary", "normal")).toBe(false);
  });
});
