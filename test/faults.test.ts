import { describe, expect, it } from "vitest";
import { Faults, InjectedFault, parseFaults } from "../src/faults.ts";

describe("TROUPE_FAULTS", () => {
  it("is off when empty", () => {
    const faults = parseFaults("") as Faults;
    expect(faults.enabled).toBe(false);
    expect(() => faults.maybeCrash("worker")).not.toThrow();
  });

  it("crashes exactly the first N times with `Nx`", () => {
    const faults = parseFaults("worker=2x") as Faults;
    const outcomes = [1, 2, 3, 4].map(() => {
      try {
        faults.maybeCrash("worker");
        return "ok";
      } catch (error) {
        return error instanceof InjectedFault ? "crash" : "other";
      }
    });
    expect(outcomes).toEqual(["crash", "crash", "ok", "ok"]);
    expect(() => faults.maybeCrash("job")).not.toThrow();
    expect(faults.injected).toBe(2);
  });

  it("crashes with the given probability", () => {
    const rolls = [0.05, 0.5, 0.09, 0.95];
    const faults = new Faults(new Map([["job", { probability: 0.1 }]]), () => rolls.shift() ?? 1);
    const crashed = [1, 2, 3, 4].filter(() => {
      try {
        faults.maybeCrash("job");
        return false;
      } catch {
        return true;
      }
    });
    expect(crashed).toHaveLength(2);
  });

  it("crashes a pool thread the first N times with `pool=Nx`, apart from actor faults", () => {
    const faults = parseFaults("pool=1x,job=0") as Faults;
    expect(faults.enabled).toBe(true);
    expect([1, 2, 3].map(() => faults.crashPoolThread())).toEqual([true, false, false]);
    expect(() => faults.maybeCrash("worker")).not.toThrow();
    expect(() => faults.maybeCrash("job")).not.toThrow();
    expect(faults.injected).toBe(1);
  });

  it("delays acks by the milliseconds given with `ack-delay`, with or without the unit", () => {
    expect((parseFaults("ack-delay=250ms") as Faults).ackDelayMs).toBe(250);
    expect((parseFaults("worker=0.01, ack-delay=40") as Faults).ackDelayMs).toBe(40);
    expect((parseFaults("ack-delay=0") as Faults).enabled).toBe(false);
    expect((parseFaults("worker=0.5") as Faults).ackDelayMs).toBe(0);
  });

  it.each([
    "worker",
    "worker=",
    "worker=1.5",
    "cpu=0.1",
    "worker=0.1;job=0.1",
    "pool=2",
    "ack-delay=1s",
    "ack-delay=0.5",
    "ack-delay=2x",
  ])("refuses %j", (text) => {
    expect(parseFaults(text)).toBeUndefined();
  });
});
