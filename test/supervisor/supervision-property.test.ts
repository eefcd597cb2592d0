import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createActorSystem } from "../../src/actors/actor-system.ts";
import type { Behavior } from "../../src/actors/behavior.ts";
import { ActorCrashedError } from "../../src/errors.ts";
import { STRATEGIES } from "../../src/supervisor/strategy.ts";
import { createSupervisor } from "../../src/supervisor/supervisor.ts";
import { settle } from "../actors/helpers.ts";

type Action = "ok" | "crash" | "async-ok" | "async-crash";

const step = fc.record({
  child: fc.nat({ max: 3 }),
  action: fc.constantFrom<Action>("ok", "crash", "async-ok", "async-crash"),
  pauseBefore: fc.boolean(),
});

/** Counts handlers running per child; any count above one is a violation. */
function probe(
  active: Map<string, number>,
  violations: string[],
  id: string,
): Behavior<Action, string> {
  return () => ({
    receive(action) {
      const running = (active.get(id) ?? 0) + 1;
      active.set(id, running);
      if (running > 1) violations.push(`${id} ran ${running} handlers at once`);
      const leave = () => active.set(id, (active.get(id) ?? 1) - 1);
      switch (action) {
        case "ok":
          leave();
          return "ok";
        case "crash":
          leave();
          throw new Error(`${id} crashed`);
        case "async-ok":
          return settle().then(() => {
            leave();
            return "ok";
          });
        case "async-crash":
          return settle().then(() => {
            leave();
            throw new Error(`${id} crashed later`);
          });
      }
    },
  });
}

describe("supervision under random crash schedules", () => {
  it("never leaves a permanent child dead within intensity, nor runs two handlers of one actor at once", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...STRATEGIES),
        fc.integer({ min: 1, max: 4 }),
        fc.array(step, { maxLength: 25 }),
        async (strategy, size, schedule) => {
          const system = createActorSystem();
          const escalations: unknown[] = [];
          system.events.on("escalated", (event) => escalations.push(event));
          const active = new Map<string, number>();
          const violations: string[] = [];
          const ids = Array.from({ length: size }, (_, i) => `c${i}`);
          const supervisor = createSupervisor(system, {
            strategy,
            maxRestarts: 1_000,
            periodMs: 60_000,
            minBackoffMs: 0,
            children: ids.map((id) => ({ id, behavior: probe(active, violations, id) })),
          });
          const refs = ids.map((id) => supervisor.child<Action, string>(id));
          const outcomes: Promise<[Action, unknown]>[] = [];
          for (const { child, action, pauseBefore } of schedule) {
            if (pauseBefore) await settle();
            const ref = refs[child % size];
            outcomes.push(
              (ref?.ask(action) ?? Promise.reject(new Error("missing child"))).then(
                (value) => [action, value],
                (error: unknown) => [action, error],
              ),
            );
          }
          for (const [action, outcome] of await Promise.all(outcomes)) {
            if (action.endsWith("crash")) expect(outcome).toBeInstanceOf(ActorCrashedError);
            else expect(outcome).toBe("ok");
          }
          // Every child answers again: restarted, same ref, nothing left dead.
          for (const ref of refs) expect(await ref?.ask("ok")).toBe("ok");
          expect(refs.every((ref) => ref?.isAlive)).toBe(true);
          expect(supervisor.ref.isAlive).toBe(true);
          expect(escalations).toEqual([]);
          expect(violations).toEqual([]);
          await system.shutdown();
        },
      ),
      { numRuns: 60 },
    );
  });
});
