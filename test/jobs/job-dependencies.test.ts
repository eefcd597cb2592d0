import { describe, expect, it } from "vitest";
import { dependencyCycle, dependencyVerdict } from "../../src/jobs/job-dependencies.ts";
import type { JobState } from "../../src/jobs/job-state.ts";

const states = (entries: [string, JobState | undefined][]) => new Map(entries);

describe("dependency verdicts", () => {
  it("all_complete waits for every dependency, and is impossible once one ends otherwise, naming it", () => {
    expect(
      dependencyVerdict(
        "all_complete",
        states([
          ["a", "COMPLETED"],
          ["b", "RUNNING"],
        ]),
      ),
    ).toEqual({ kind: "waiting", open: ["b"] });
    expect(
      dependencyVerdict(
        "all_complete",
        states([
          ["a", "COMPLETED"],
          ["b", "COMPLETED"],
        ]),
      ),
    ).toEqual({ kind: "ready" });
    expect(
      dependencyVerdict(
        "all_complete",
        states([
          ["a", "QUEUED"],
          ["b", "FAILED"],
        ]),
      ),
    ).toEqual({
      kind: "impossible",
      error: "dependency b ended FAILED",
    });
    expect(dependencyVerdict("all_complete", states([["a", undefined]]))).toEqual({
      kind: "impossible",
      error: "dependency a no longer exists",
    });
  });

  it("any_complete is ready on the first completion, impossible once all ended without one", () => {
    expect(
      dependencyVerdict(
        "any_complete",
        states([
          ["a", "FAILED"],
          ["b", "RUNNING"],
        ]),
      ),
    ).toEqual({
      kind: "waiting",
      open: ["b"],
    });
    expect(
      dependencyVerdict(
        "any_complete",
        states([
          ["a", "FAILED"],
          ["b", "COMPLETED"],
        ]),
      ),
    ).toEqual({
      kind: "ready",
    });
    expect(
      dependencyVerdict(
        "any_complete",
        states([
          ["a", "FAILED"],
          ["b", "CANCELLED"],
        ]),
      ),
    ).toEqual({
      kind: "impossible",
      error: "no dependency completed: a ended FAILED, b ended CANCELLED",
    });
  });

  it("all_finished is ready once every dependency ended, however it ended", () => {
    expect(
      dependencyVerdict(
        "all_finished",
        states([
          ["a", "FAILED"],
          ["b", "WAITING"],
        ]),
      ),
    ).toEqual({
      kind: "waiting",
      open: ["b"],
    });
    expect(
      dependencyVerdict(
        "all_finished",
        states([
          ["a", "FAILED"],
          ["b", "TIMEOUT"],
        ]),
      ),
    ).toEqual({
      kind: "ready",
    });
  });
});

describe("dependency cycles", () => {
  const graph: Record<string, string[]> = { a: ["b"], b: ["c"], c: [], d: ["a"] };
  const lookup = async (id: string) => graph[id];

  it("finds the cycle an added dependency would close, as a path", async () => {
    expect(await dependencyCycle("c", ["d"], lookup)).toEqual(["c", "d", "a", "b", "c"]);
    expect(await dependencyCycle("a", ["a"], lookup)).toEqual(["a", "a"]);
  });

  it("finds none in a graph that stays acyclic, and ends on a diamond", async () => {
    expect(await dependencyCycle("d", ["c", "b"], lookup)).toBeUndefined();
  });
});
