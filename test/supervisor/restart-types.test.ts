import { describe, expect, it } from "vitest";
import { createActorSystem } from "../../src/actors/actor-system.ts";
import type { RestartType } from "../../src/supervisor/child-spec.ts";
import { createSupervisor } from "../../src/supervisor/supervisor.ts";
import { recorder } from "./recorder.ts";

function supervise(restart: RestartType) {
  const system = createActorSystem();
  const log: string[] = [];
  const supervisor = createSupervisor(system, {
    minBackoffMs: 0,
    children: [{ id: "w", restart, behavior: recorder(log, "w") }],
  });
  const ref = supervisor.child<string, string>("w");
  if (ref === undefined) throw new Error("child w did not start");
  return { system, supervisor, ref, log };
}

describe("restart types", () => {
  it("restarts a permanent child after a crash", async () => {
    const { system, supervisor, ref } = supervise("permanent");
    const restarted = supervisor.events.once("restarted");
    ref.tell("crash");
    expect((await restarted).child).toBe("w");
    expect(await ref.ask("ping")).toBe("w:ping#1");
    await system.shutdown();
  });

  it("restarts a permanent child even after it stops itself normally, under a new ref", async () => {
    const { system, supervisor, ref } = supervise("permanent");
    const restarted = supervisor.events.once("restarted");
    ref.tell("quit");
    await restarted;
    expect(ref.isAlive).toBe(false);
    const fresh = supervisor.child<string, string>("w");
    expect(fresh).not.toBe(ref);
    expect(await fresh?.ask("ping")).toBe("w:ping#1");
    await system.shutdown();
  });

  it("restarts a transient child after a crash", async () => {
    const { system, supervisor, ref } = supervise("transient");
    const restarted = supervisor.events.once("restarted");
    ref.tell("crash");
    await restarted;
    expect(await ref.ask("ping")).toBe("w:ping#1");
    await system.shutdown();
  });

  it("does not restart a transient child that stops itself normally, and forgets it", async () => {
    const { system, supervisor, ref } = supervise("transient");
    const restarts: unknown[] = [];
    supervisor.events.on("restarted", (event) => restarts.push(event));
    const stopped = supervisor.events.once("stopped", (event) => event.child === "w");
    ref.tell("quit");
    expect((await stopped).reason).toBe("normal");
    await supervisor.terminateChild("nothing"); // a round trip through the supervisor's mailbox
    expect(supervisor.children()).toEqual([]);
    expect(restarts).toEqual([]);
    await system.shutdown();
  });

  it("never restarts a temporary child: it is stopped with its error and message, and forgotten", async () => {
    const { system, supervisor, ref, log } = supervise("temporary");
    const restarts: unknown[] = [];
    supervisor.events.on("restarted", (event) => restarts.push(event));
    const stopped = supervisor.events.once("stopped", (event) => event.child === "w");
    ref.tell("crash");
    const event = await stopped;
    expect(event).toMatchObject({ reason: "crash", message: "crash" });
    expect((event.error as Error).message).toBe("w crashed");
    expect(log).toEqual(["start w", "stop w"]);
    await supervisor.terminateChild("nothing");
    expect(supervisor.children()).toEqual([]);
    expect(restarts).toEqual([]);
    await system.shutdown();
  });
});
