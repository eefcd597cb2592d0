import { describe, expect, it } from "vitest";
import { createActorSystem } from "../../src/actors/actor-system.ts";
import type { Behavior } from "../../src/actors/behavior.ts";
import { ActorNameTakenError, ActorOptionsError } from "../../src/errors.ts";
import { createSupervisor } from "../../src/supervisor/supervisor.ts";
import { rejectionOf } from "../actors/helpers.ts";

interface Task {
  task: string;
  poison?: boolean;
}

/** A job-like actor: holds the task it works on; on a crash, hands it back for requeueing. */
function jobActor(requeued: Task[]): Behavior<Task, string> {
  return () => ({
    receive(message) {
      if (message.poison) throw new Error(`task ${message.task} failed`);
      return `done ${message.task}`;
    },
    preRestart(_error, message) {
      if (message !== undefined) requeued.push(message);
    },
  });
}

describe("dynamic children", () => {
  it("starts one child per job, finds it by id and terminates it", async () => {
    const system = createActorSystem();
    const supervisor = createSupervisor(system, { name: "jobs", minBackoffMs: 0 });
    const requeued: Task[] = [];
    const refs = await Promise.all(
      ["job-1", "job-2", "job-3"].map((id) =>
        supervisor.startChild({ id, name: id, restart: "transient", behavior: jobActor(requeued) }),
      ),
    );
    expect(refs.map((ref) => ref.path)).toEqual(["jobs/job-1", "jobs/job-2", "jobs/job-3"]);
    expect(await system.lookup<Task, string>("job-2")?.ask({ task: "t2" })).toBe("done t2");
    expect(await supervisor.terminateChild("job-2")).toBe(true);
    expect(await supervisor.terminateChild("job-2")).toBe(false);
    expect(refs[1]?.isAlive).toBe(false);
    expect(supervisor.children().map((child) => child.id)).toEqual(["job-1", "job-3"]);
    await system.shutdown();
  });

  it("hands the crashing message to preRestart so the domain can requeue it", async () => {
    const system = createActorSystem();
    const supervisor = createSupervisor(system, { minBackoffMs: 0 });
    const requeued: Task[] = [];
    const ref = await supervisor.startChild({ id: "job-9", behavior: jobActor(requeued) });
    const restarted = supervisor.events.once("restarted");
    ref.tell({ task: "t9", poison: true });
    const event = await restarted;
    expect(event.message).toEqual({ task: "t9", poison: true });
    expect(requeued).toEqual([{ task: "t9", poison: true }]);
    expect(await ref.ask({ task: "t10" })).toBe("done t10");
    await system.shutdown();
  });

  it("refuses a duplicate child id or a taken name without disturbing the supervisor", async () => {
    const system = createActorSystem();
    const supervisor = createSupervisor(system);
    const behavior: Behavior<string, string> = () => ({ receive: (m) => m });
    await supervisor.startChild({ id: "a", name: "taken", behavior });
    expect(await rejectionOf(supervisor.startChild({ id: "a", behavior }))).toBeInstanceOf(
      ActorOptionsError,
    );
    expect(
      await rejectionOf(supervisor.startChild({ id: "b", name: "taken", behavior })),
    ).toBeInstanceOf(ActorNameTakenError);
    await expect(supervisor.startChild({ id: "", behavior })).rejects.toThrow(/child id/);
    const c = await supervisor.startChild({ id: "c", behavior });
    expect(await c.ask("still fine")).toBe("still fine");
    await system.shutdown();
  });

  it("restarts with a fresh instance: state is not carried over", async () => {
    const system = createActorSystem();
    const supervisor = createSupervisor(system, { minBackoffMs: 0 });
    const counter: Behavior<string, number> = () => {
      let count = 0;
      return {
        receive(message) {
          if (message === "crash") throw new Error("crash");
          count++;
          return count;
        },
      };
    };
    const ref = await supervisor.startChild({ id: "counter", behavior: counter });
    await ref.ask("inc");
    expect(await ref.ask("inc")).toBe(2);
    ref.tell("crash");
    expect(await ref.ask("inc")).toBe(1);
    await system.shutdown();
  });
});
