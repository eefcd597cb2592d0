import { describe, expect, it } from "vitest";
import { createActorSystem } from "../../src/actors/actor-system.ts";
import type { Strategy } from "../../src/supervisor/strategy.ts";
import { createSupervisor } from "../../src/supervisor/supervisor.ts";
import { nextEvents, recorder } from "./recorder.ts";

async function crashB(strategy: Strategy, expectedRestarts: number) {
  const system = createActorSystem();
  const log: string[] = [];
  const supervisor = createSupervisor(system, {
    strategy,
    minBackoffMs: 0,
    children: ["a", "b", "c", "d"].map((id) => ({ id, behavior: recorder(log, id) })),
  });
  const b = supervisor.child<string, string>("b");
  await b?.ask("warm-up");
  log.length = 0;
  const restarted = nextEvents(supervisor.events, "restarted", expectedRestarts);
  b?.tell("crash");
  const events = await restarted;
  return { system, supervisor, log, events };
}

describe("supervisor strategies", () => {
  it("one_for_one restarts only the crashed child", async () => {
    const { system, log, events } = await crashB("one_for_one", 1);
    expect(log).toEqual(["preRestart b b crashed crash", "stop b", "start b"]);
    expect(events.map((event) => [event.child, event.sibling])).toEqual([["b", false]]);
    await system.shutdown();
  });

  it("one_for_all stops all children last-started first, then restarts all in start order", async () => {
    const { system, log, events } = await crashB("one_for_all", 4);
    expect(log).toEqual([
      "stop d",
      "stop c",
      "preRestart b b crashed crash",
      "stop b",
      "stop a",
      "start a",
      "start b",
      "start c",
      "start d",
    ]);
    expect(events.map((event) => [event.child, event.sibling])).toEqual([
      ["a", true],
      ["b", false],
      ["c", true],
      ["d", true],
    ]);
    await system.shutdown();
  });

  it("rest_for_one restarts the crashed child and the children started after it", async () => {
    const { system, log, events } = await crashB("rest_for_one", 3);
    expect(log).toEqual([
      "stop d",
      "stop c",
      "preRestart b b crashed crash",
      "stop b",
      "start b",
      "start c",
      "start d",
    ]);
    expect(events.map((event) => event.child)).toEqual(["b", "c", "d"]);
    await system.shutdown();
  });

  it("carries the error and the crashing message on the failed child's restarted event", async () => {
    const { system, events } = await crashB("one_for_all", 4);
    const failed = events.find((event) => !event.sibling);
    expect(failed).toMatchObject({ child: "b", message: "crash", hasMessage: true, attempt: 1 });
    expect(failed?.error).toMatchObject({ message: "b crashed" });
    for (const sibling of events.filter((event) => event.sibling)) {
      expect(sibling.message).toBeUndefined();
    }
    await system.shutdown();
  });

  it("keeps the ref and the messages queued behind the crash, handled by a fresh instance", async () => {
    const system = createActorSystem();
    const log: string[] = [];
    const supervisor = createSupervisor(system, {
      minBackoffMs: 0,
      children: [{ id: "b", behavior: recorder(log, "b") }],
    });
    const b = supervisor.child<string, string>("b");
    expect(await b?.ask("one")).toBe("b:one#1");
    b?.tell("crash");
    const queued = [b?.ask("two"), b?.ask("three")];
    expect(await Promise.all(queued)).toEqual(["b:two#1", "b:three#2"]);
    expect(supervisor.child("b")).toBe(b);
    await system.shutdown();
  });
});
