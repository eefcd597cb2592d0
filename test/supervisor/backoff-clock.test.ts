import { describe, expect, it } from "vitest";
import { createActorSystem } from "../../src/actors/actor-system.ts";
import { createSupervisor } from "../../src/supervisor/supervisor.ts";
import { settle } from "../actors/helpers.ts";
import { SimulatedClock } from "../support/simulated-clock.ts";
import { recorder } from "./recorder.ts";

function setup(random = () => 0) {
  const clock = new SimulatedClock();
  const system = createActorSystem({ clock, random });
  const log: string[] = [];
  const supervisor = createSupervisor(system, {
    maxRestarts: 100,
    periodMs: 1_000,
    minBackoffMs: 100,
    maxBackoffMs: 400,
    backoffJitter: 0.5,
    backoffResetMs: 5_000,
    children: [{ id: "w", behavior: recorder(log, "w") }],
  });
  const ref = supervisor.child<string, string>("w");
  if (ref === undefined) throw new Error("no child");
  return { clock, system, supervisor, ref, log };
}

describe("restart back-off on an injected clock", () => {
  it("waits the back-off delay before restarting, holding messages sent meanwhile", async () => {
    const { clock, system, supervisor, ref, log } = setup();
    const backoff = supervisor.events.once("backoff");
    ref.tell("crash");
    expect((await backoff).delayMs).toBe(100);
    const reply = ref.ask("queued");
    clock.advance(99);
    await settle();
    expect(log).toEqual(["start w", "preRestart w w crashed crash", "stop w"]);
    const restarted = supervisor.events.once("restarted");
    clock.advance(1);
    expect((await restarted).delayMs).toBe(100);
    expect(await reply).toBe("w:queued#1");
    await system.shutdown();
  });

  it("doubles the delay on each consecutive crash up to maxBackoffMs", async () => {
    const { clock, system, supervisor, ref } = setup();
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const backoff = supervisor.events.once("backoff");
      ref.tell("crash");
      const { delayMs } = await backoff;
      delays.push(delayMs);
      const restarted = supervisor.events.once("restarted");
      clock.advance(delayMs);
      await restarted;
    }
    expect(delays).toEqual([100, 200, 400, 400, 400]);
    await system.shutdown();
  });

  it("starts again from minBackoffMs after a quiet period", async () => {
    const { clock, system, supervisor, ref } = setup();
    for (const expected of [100, 200]) {
      const backoff = supervisor.events.once("backoff");
      ref.tell("crash");
      expect((await backoff).delayMs).toBe(expected);
      const restarted = supervisor.events.once("restarted");
      clock.advance(expected);
      await restarted;
    }
    clock.advance(5_000);
    const backoff = supervisor.events.once("backoff");
    ref.tell("crash");
    expect(await backoff).toMatchObject({ delayMs: 100, attempt: 1 });
    await system.shutdown();
  });

  it("applies jitter from the injected randomness", async () => {
    const { system, supervisor, ref } = setup(() => 0.5);
    const backoff = supervisor.events.once("backoff");
    ref.tell("crash");
    // 100 ms base, jitter 0.5 at random 0.5: a quarter off.
    expect((await backoff).delayMs).toBe(75);
    await system.shutdown();
  });
});
