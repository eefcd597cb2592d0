import { describe, expect, it } from "vitest";
import { createActorSystem } from "../../src/actors/actor-system.ts";
import type { ActorEvent } from "../../src/actors/events.ts";
import { ActorNameTakenError, ActorOptionsError } from "../../src/errors.ts";
import { deferred, settle } from "./helpers.ts";

describe("actor lifecycle", () => {
  it("runs preStart before the first message, and messages wait for an async preStart", async () => {
    const system = createActorSystem();
    const log: string[] = [];
    const ready = deferred();
    const ref = system.spawn<string, void>(() => ({
      async preStart() {
        log.push("preStart begins");
        await ready.promise;
        log.push("preStart ends");
      },
      receive(message) {
        log.push(`receive ${message}`);
      },
    }));
    ref.tell("early");
    await settle();
    expect(log).toEqual(["preStart begins"]);
    ready.resolve();
    await ref.ask("late");
    expect(log).toEqual(["preStart begins", "preStart ends", "receive early", "receive late"]);
    await system.shutdown();
  });

  it("awaits postStop when stopped, and the ref reports the actor gone", async () => {
    const system = createActorSystem();
    const log: string[] = [];
    const ref = system.spawn<string, void>(() => ({
      receive() {},
      async postStop() {
        await settle();
        log.push("postStop done");
      },
    }));
    expect(ref.isAlive).toBe(true);
    await system.stop(ref);
    expect(log).toEqual(["postStop done"]);
    expect(ref.isAlive).toBe(false);
    expect(await ref.closed()).toBeUndefined();
    await system.shutdown();
  });

  it("stops itself normally with ctx.stop() after the current message", async () => {
    const system = createActorSystem();
    const events: ActorEvent[] = [];
    system.events.subscribe((event) => events.push(event));
    const handled: string[] = [];
    const ref = system.spawn<string, string>(() => ({
      receive(message, ctx) {
        handled.push(message);
        if (message === "quit") ctx.stop();
        return message;
      },
    }));
    ref.tell("a");
    expect(await ref.ask("quit")).toBe("quit");
    expect(await ref.closed()).toBeUndefined();
    expect(handled).toEqual(["a", "quit"]);
    expect(events.find((event) => event.type === "stopped")).toMatchObject({ reason: "normal" });
    await system.shutdown();
  });

  it("stops an unsupervised actor that crashes, carrying the error and the message on `stopped`", async () => {
    const system = createActorSystem();
    const stopped = system.events.once("stopped");
    const postStop = deferred<string>();
    const ref = system.spawn<{ job: number }, void>(() => ({
      receive(message) {
        throw new Error(`cannot do job ${message.job}`);
      },
      postStop() {
        postStop.resolve("called");
      },
    }));
    ref.tell({ job: 7 });
    const event = await stopped;
    expect(event.reason).toBe("crash");
    expect(event.message).toEqual({ job: 7 });
    expect((event.error as Error).message).toBe("cannot do job 7");
    expect(await postStop.promise).toBe("called");
    expect(((await ref.closed()) as Error).message).toBe("cannot do job 7");
    await system.shutdown();
  });

  it("keeps names unique while registered and frees them when the actor stops", async () => {
    const system = createActorSystem();
    const first = system.spawn(() => ({ receive: () => 1 }), { name: "solo" });
    expect(() => system.spawn(() => ({ receive: () => 2 }), { name: "solo" })).toThrow(
      ActorNameTakenError,
    );
    expect(system.lookup("solo")).toBe(first);
    await system.stop(first);
    expect(system.lookup("solo")).toBeUndefined();
    const second = system.spawn(() => ({ receive: () => 2 }), { name: "solo" });
    expect(await second.ask(null)).toBe(2);
    await system.shutdown();
  });

  it("rejects invalid options with an error naming the option", () => {
    const system = createActorSystem();
    const behavior = () => ({ receive: () => undefined });
    expect(() => system.spawn(behavior, { mailboxSize: 0 })).toThrow(/mailboxSize/);
    expect(() => system.spawn(behavior, { shutdownMs: -1 })).toThrow(/shutdownMs/);
    expect(() => system.spawn(behavior, { name: "has space" })).toThrow(ActorOptionsError);
    expect(system.stats().actors).toBe(0);
  });

  it("stops an actor's children before the actor itself, last spawned first", async () => {
    const system = createActorSystem();
    const log: string[] = [];
    const parent = system.spawn<string, void>(() => ({
      preStart(ctx) {
        for (const name of ["c1", "c2", "c3"]) {
          ctx.spawn(() => ({ receive() {}, postStop: () => void log.push(`${name} stopped`) }));
        }
      },
      receive() {},
      postStop: () => void log.push("parent stopped"),
    }));
    await parent.ask("sync");
    await system.stop(parent);
    expect(log).toEqual(["c3 stopped", "c2 stopped", "c1 stopped", "parent stopped"]);
    await system.shutdown();
  });

  it("streams lifecycle events to async iterators", async () => {
    const system = createActorSystem();
    const iterator = system.events[Symbol.asyncIterator]();
    const ref = system.spawn(() => ({ receive: () => undefined }), { name: "watched" });
    await system.stop(ref);
    const first = await iterator.next();
    const second = await iterator.next();
    expect([first.value?.type, second.value?.type]).toEqual(["started", "stopped"]);
    expect(first.value?.actor).toBe("watched");
    await iterator.return?.();
    await system.shutdown();
  });
});
