import { describe, expect, it } from "vitest";
import { createActorSystem } from "../../src/actors/actor-system.ts";
import {
  ActorCrashedError,
  ActorStoppedError,
  AskTimeoutError,
  NoResponderError,
} from "../../src/errors.ts";
import { SimulatedClock } from "../support/simulated-clock.ts";
import { deferred, rejectionOf, settle } from "./helpers.ts";

describe("ask", () => {
  it("resolves with what the handler returns, or with what its promise resolves to", async () => {
    const system = createActorSystem();
    const sync = system.spawn<number, number>(() => ({ receive: (n) => n * 2 }));
    const async = system.spawn<number, number>(() => ({ receive: async (n) => n * 3 }));
    expect(await sync.ask(21)).toBe(42);
    expect(await async.ask(5)).toBe(15);
    await system.shutdown();
  });

  it("rejects with AskTimeoutError when no reply comes within timeoutMs", async () => {
    const clock = new SimulatedClock();
    const system = createActorSystem({ clock });
    const gate = deferred<string>();
    const ref = system.spawn<string, string>(() => ({ receive: () => gate.promise }));
    const pending = ref.ask("slow", { timeoutMs: 250 });
    clock.advance(249);
    await settle();
    clock.advance(1);
    const error = await rejectionOf(pending);
    expect(error).toBeInstanceOf(AskTimeoutError);
    expect((error as AskTimeoutError).code).toBe("TROUPE_ERR_ASK_TIMEOUT");
    // The late reply is dropped and the actor carries on with its next message.
    gate.resolve("late");
    const next = ref.ask("next");
    expect(await next).toBe("late");
    await system.shutdown();
  });

  it("uses the system's askTimeoutMs when the caller gives none", async () => {
    const clock = new SimulatedClock();
    const system = createActorSystem({ clock, askTimeoutMs: 1_000 });
    const ref = system.spawn<string, never>(
      () => ({ receive: () => new Promise<never>(() => {}) }),
      {
        shutdownMs: 0,
      },
    );
    const pending = ref.ask("never");
    expect(clock.pending).toEqual([1_000]);
    clock.advance(1_000);
    expect(await rejectionOf(pending)).toBeInstanceOf(AskTimeoutError);
    await system.shutdown();
  });

  it("rejects with ActorCrashedError, carrying the thrown error, when the handler throws on it", async () => {
    const system = createActorSystem();
    const boom = new Error("boom");
    const ref = system.spawn<string, string>(() => ({
      receive(message) {
        if (message === "sync") throw boom;
        return Promise.reject(boom);
      },
    }));
    const error = await rejectionOf(ref.ask("sync"));
    expect(error).toBeInstanceOf(ActorCrashedError);
    expect((error as ActorCrashedError).cause).toBe(boom);
    expect((error as Error).message).toContain("boom");

    const other = system.spawn<string, string>(() => ({ receive: () => Promise.reject(boom) }));
    const asyncError = await rejectionOf(other.ask("async"));
    expect(asyncError).toBeInstanceOf(ActorCrashedError);
    await system.shutdown();
  });

  it("rejects queued asks with ActorStoppedError when an unsupervised actor crashes and stops", async () => {
    const system = createActorSystem();
    const gate = deferred();
    const ref = system.spawn<string, string>(() => ({
      async receive(message) {
        await gate.promise;
        if (message === "crash") throw new Error("crash");
        return message;
      },
    }));
    const crashing = ref.ask("crash");
    const queued = ref.ask("queued");
    gate.resolve();
    expect(await rejectionOf(crashing)).toBeInstanceOf(ActorCrashedError);
    expect(await rejectionOf(queued)).toBeInstanceOf(ActorStoppedError);
    expect(await ref.closed()).toBeInstanceOf(Error);
    expect(await rejectionOf(ref.ask("after"))).toBeInstanceOf(ActorStoppedError);
    await system.shutdown();
  });

  it("rejects with ActorStoppedError when the actor stops while handling it past shutdownMs", async () => {
    const clock = new SimulatedClock();
    const system = createActorSystem({ clock });
    const entered = deferred();
    const ref = system.spawn<string, string>(
      () => ({
        receive() {
          entered.resolve();
          return new Promise<string>(() => {});
        },
      }),
      { shutdownMs: 100 },
    );
    const inFlight = ref.ask("hang", { timeoutMs: Number.POSITIVE_INFINITY });
    const queued = ref.ask("queued", { timeoutMs: Number.POSITIVE_INFINITY });
    await entered.promise;
    const stopped = system.stop(ref);
    expect(await rejectionOf(queued)).toBeInstanceOf(ActorStoppedError);
    await settle();
    clock.advance(100);
    await stopped;
    expect(await rejectionOf(inFlight)).toBeInstanceOf(ActorStoppedError);
    expect(ref.isAlive).toBe(false);
    await system.shutdown();
  });

  it("lets the in-flight message finish when the actor is stopped within shutdownMs", async () => {
    const system = createActorSystem();
    const gate = deferred();
    const ref = system.spawn<string, string>(() => ({
      async receive(message) {
        await gate.promise;
        return `done ${message}`;
      },
    }));
    const inFlight = ref.ask("work");
    await settle();
    const stopped = system.stop(ref);
    gate.resolve();
    await stopped;
    expect(await inFlight).toBe("done work");
  });

  it("rejects with the signal's reason when the caller aborts", async () => {
    const system = createActorSystem();
    const ref = system.spawn<string, never>(
      () => ({ receive: () => new Promise<never>(() => {}) }),
      {
        shutdownMs: 0,
      },
    );
    const controller = new AbortController();
    const pending = ref.ask("wait", { signal: controller.signal });
    controller.abort(new Error("caller gave up"));
    expect(((await rejectionOf(pending)) as Error).message).toBe("caller gave up");
    await system.shutdown();
  });

  it("fails fast with NoResponderError for a name nobody serves", async () => {
    const system = createActorSystem();
    const ghost = system.actorFor("nobody-home");
    const error = await rejectionOf(ghost.ask("hello", { timeoutMs: 60_000 }));
    expect(error).toBeInstanceOf(NoResponderError);
    expect((error as NoResponderError).code).toBe("TROUPE_ERR_NO_RESPONDER");
    await system.shutdown();
  });

  it("reaches a local named actor through actorFor, following it across a respawn", async () => {
    const system = createActorSystem();
    const byName = system.actorFor<string, string>("greeter");
    const first = system.spawn<string, string>(() => ({ receive: (m) => `one:${m}` }), {
      name: "greeter",
    });
    expect(await byName.ask("a")).toBe("one:a");
    await system.stop(first);
    system.spawn<string, string>(() => ({ receive: (m) => `two:${m}` }), { name: "greeter" });
    expect(await byName.ask("b")).toBe("two:b");
    await system.shutdown();
  });
});
