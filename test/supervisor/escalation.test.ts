import { describe, expect, it } from "vitest";
import { createActorSystem } from "../../src/actors/actor-system.ts";
import type { ActorEvent } from "../../src/actors/events.ts";
import { SupervisorEscalationError } from "../../src/errors.ts";
import { createSupervisor, supervisorChild } from "../../src/supervisor/supervisor.ts";
import { SimulatedClock } from "../support/simulated-clock.ts";
import { recorder } from "./recorder.ts";

const summary = (event: ActorEvent) =>
  `${event.type} ${event.actor}${"child" in event && event.child ? ` (${event.child})` : ""}`;

describe("restart intensity", () => {
  it("escalates through two levels of supervisors to a fatal event that shuts the system down", async () => {
    const clock = new SimulatedClock();
    const system = createActorSystem({ clock });
    const events: string[] = [];
    system.events.subscribe((event) => {
      if (event.type !== "started" && event.type !== "stopped") events.push(summary(event));
    });
    const log: string[] = [];
    createSupervisor(system, {
      name: "top",
      maxRestarts: 1,
      minBackoffMs: 0,
      children: [
        recorderChild(log),
        supervisorChild({
          id: "mid",
          maxRestarts: 1,
          minBackoffMs: 0,
          children: [{ id: "leaf", name: "leaf", behavior: recorder(log, "leaf") }],
        }),
      ],
    });
    const leaf = system.actorFor<string, string>("leaf");
    const crashLeafAndWait = async (type: ActorEvent["type"], actor: string) => {
      const next = system.events.once(type, (event) => event.actor === actor);
      leaf.tell("crash");
      await next;
    };
    await crashLeafAndWait("restarted", "top/mid/leaf"); // mid: 1 restart, within intensity
    await crashLeafAndWait("restarted", "top/mid"); // mid gives up; top restarts mid
    await crashLeafAndWait("restarted", "top/mid/leaf"); // fresh mid: fresh restart history
    const fatal = system.events.once("fatal");
    leaf.tell("crash"); // mid gives up again; top's second restart exceeds its intensity
    const { error } = await fatal;
    expect(error).toBeInstanceOf(SupervisorEscalationError);
    expect((error.cause as Error).message).toContain("mid gave up");
    expect(await system.closed()).toBe(error);
    expect(events).toEqual([
      "restarted top/mid/leaf (leaf)",
      "escalated top/mid (leaf)",
      "restarted top/mid (mid)",
      "restarted top/mid/leaf (leaf)",
      "escalated top/mid (leaf)",
      "escalated top (mid)",
      "fatal top",
    ]);
    expect(system.stats().actors).toBe(0);
    // Escalating supervisors stop their children (last started first) before failing upwards.
    expect(log.slice(-2)).toEqual(["stop leaf", "stop steady"]);
  });

  it("escalates on its own when a child keeps failing to start", async () => {
    const system = createActorSystem();
    let starts = 0;
    const supervisor = createSupervisor(system, {
      maxRestarts: 2,
      minBackoffMs: 0,
      children: [
        {
          id: "broken",
          behavior: () => ({
            preStart() {
              starts++;
              throw new Error("no database");
            },
            receive: () => undefined,
          }),
        },
      ],
    });
    const error = await system.closed();
    expect(error).toBeInstanceOf(SupervisorEscalationError);
    expect(error?.message).toContain("no database");
    expect(starts).toBe(3);
    expect(await supervisor.closed()).toBe(error);
  });
});

function recorderChild(log: string[]) {
  return { id: "steady", behavior: recorder(log, "steady") };
}
