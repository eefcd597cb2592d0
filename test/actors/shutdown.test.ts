import { describe, expect, it } from "vitest";
import { createActorSystem } from "../../src/actors/actor-system.ts";
import { ActorStoppedError } from "../../src/errors.ts";
import { createSupervisor } from "../../src/supervisor/supervisor.ts";
import { SimulatedClock } from "../support/simulated-clock.ts";
import { deferred } from "./helpers.ts";

const logging = (log: string[], name: string) => () => ({
  receive() {},
  async postStop() {
    await Promise.resolve();
    log.push(name);
  },
});

describe("ActorSystem.shutdown", () => {
  it("stops children before parents and top-level actors last spawned first, awaiting each postStop", async () => {
    const system = createActorSystem();
    const log: string[] = [];
    system.spawn(logging(log, "first"));
    const supervisor = createSupervisor(system, {
      name: "sup",
      children: [
        { id: "a", behavior: logging(log, "sup/a") },
        { id: "b", behavior: logging(log, "sup/b") },
      ],
    });
    await supervisor.startChild({ id: "c", behavior: logging(log, "sup/c") });
    system.spawn<string, void>(() => ({
      preStart(ctx) {
        ctx.spawn(logging(log, "parent/child"));
      },
      receive() {},
      postStop: () => void log.push("parent"),
    }));
    await system.shutdown();
    expect(log).toEqual(["parent/child", "parent", "sup/c", "sup/b", "sup/a", "first"]);
    expect(system.stats().actors).toBe(0);
  });

  it("bounds a postStop that never finishes by that actor's shutdownMs", async () => {
    const clock = new SimulatedClock();
    const system = createActorSystem({ clock });
    const log: string[] = [];
    const hanging = deferred();
    system.spawn(logging(log, "quick"));
    system.spawn(
      () => ({
        receive() {},
        postStop() {
          hanging.resolve();
          return new Promise<void>(() => {});
        },
      }),
      { shutdownMs: 2_000 },
    );
    const done = system.shutdown();
    await hanging.promise;
    expect(clock.pending).toEqual([2_000]);
    clock.advance(2_000);
    await done;
    expect(log).toEqual(["quick"]);
  });

  it("is idempotent, settles closed() and refuses new actors afterwards", async () => {
    const system = createActorSystem();
    const ref = system.spawn(() => ({ receive: () => "pong" }));
    const first = system.shutdown();
    expect(system.shutdown()).toBe(first);
    await first;
    expect(await system.closed()).toBeUndefined();
    expect(ref.isAlive).toBe(false);
    expect(() => system.spawn(() => ({ receive: () => undefined }))).toThrow(ActorStoppedError);
  });

  it("shuts down through `await using`", async () => {
    const log: string[] = [];
    {
      await using system = createActorSystem();
      system.spawn(logging(log, "scoped"));
    }
    expect(log).toEqual(["scoped"]);
  });
});
