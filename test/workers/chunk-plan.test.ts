import { describe, expect, it } from "vitest";
import { validateTrainingSpec } from "../../src/training/training-spec.ts";
import type { ChunkResult, TaskResult } from "../../src/training/types.ts";
import type { ChunkMessage, ChunkRecord } from "../../src/workers/chunk-message.ts";
import { planDelivery, type RecordContext, recordOf } from "../../src/workers/chunk-plan.ts";

const resolved = validateTrainingSpec({ model_type: "logistic_regression", tasks: 16 });
if (!resolved.ok) throw new Error("the test's spec is invalid");

const message: ChunkMessage = {
  job_id: "job_test",
  chunk: 0,
  tasks: Array.from({ length: 16 }, (_, i) => i),
  priority: "normal",
  user_id: "u",
  spec: resolved.value,
  max_attempts: 3,
  backoff_ms: 100,
};
const noCounts = { failures: 0, hand_backs: 0 };

function ok(index: number): ChunkResult[number] {
  const value = {
    task_index: index,
    epochs: 1,
    metrics: { loss: 0.5, accuracy: 0.9, heldout_loss: 0.6, train_samples: 10, duration_ms: 1 },
    model: new Uint8Array(8),
    history: [],
  } as unknown as TaskResult; // only the fields a record keeps
  return { ok: true, value };
}
const failed = (message: string): ChunkResult[number] => ({
  ok: false,
  error: { code: "TROUPE_ERR_TRAINING_FAILED", message },
});
const aborted: ChunkResult[number] = {
  ok: false,
  error: { code: "TROUPE_ERR_TRAINING_ABORTED", message: "training task aborted" },
};

function context(plan: ReturnType<typeof planDelivery>): RecordContext {
  if (plan.kind !== "run") throw new Error("expected a run");
  return {
    message,
    plan,
    failures: 0,
    redelivered: false,
    workerId: "w1",
    now: 1_000,
    startedAt: 900,
    taskTimeoutMs: 300_000,
    maxModelBytes: 1024,
    random: () => 0.5,
  };
}

describe("planning a chunk delivery", () => {
  it("runs every task at attempt 1 on a first delivery", () => {
    const plan = planDelivery(message, [], noCounts, 1);
    expect(plan).toMatchObject({ kind: "run", generation: 0, isolate: false, given_up: [] });
    if (plan.kind === "run") expect(plan.run.map((t) => t.attempt)).toEqual(Array(16).fill(1));
  });

  it("retries only the failed 3rd of 16 tasks in the next generation, with its back-off", () => {
    const plan = planDelivery(message, [], noCounts, 1);
    const results = message.tasks.map((i) => (i === 2 ? failed("diverged") : ok(i)));
    const record = recordOf({ kind: "results", results }, context(plan));
    expect(Object.keys(record.outcomes).map(Number)).toEqual(message.tasks.filter((i) => i !== 2));
    expect(record.retry).toEqual([{ task_index: 2, attempts: 1, error: "diverged" }]);
    expect(record.delay_ms).toBe(100); // 100 × 2^0, jitter at its midpoint

    const next = planDelivery(message, [record], noCounts, 2);
    expect(next).toMatchObject({
      kind: "run",
      generation: 1,
      run: [{ task_index: 2, attempt: 2 }],
    });
  });

  it("fails a task for good on its last attempt and names the error", () => {
    const gen0: ChunkRecord = {
      ...recordOf(
        { kind: "results", results: [] },
        context(planDelivery(message, [], noCounts, 1)),
      ),
      outcomes: {},
      retry: [{ task_index: 5, attempts: 2, error: "diverged" }],
    };
    const plan = planDelivery(message, [gen0], noCounts, 2);
    const record = recordOf(
      { kind: "results", results: [failed("diverged again")] },
      context(plan),
    );
    expect(record.retry).toEqual([]);
    expect(record.outcomes[5]).toMatchObject({
      status: "FAILED",
      attempt: 3,
      error: "diverged again",
    });
  });

  it("says done when the last generation left nothing to retry (its ack was lost)", () => {
    const plan = planDelivery(message, [], noCounts, 1);
    const record = recordOf(
      { kind: "results", results: message.tasks.map((i) => ok(i)) },
      context(plan),
    );
    expect(planDelivery(message, [record], noCounts, 2)).toEqual({ kind: "done" });
  });

  it("on a drain, records what finished and hands the rest back without spending attempts", () => {
    const plan = planDelivery(message, [], noCounts, 1);
    const results = [ok(0), ok(1), aborted];
    const record = recordOf({ kind: "results", results, stopped: "stopping" }, context(plan));
    expect(Object.keys(record.outcomes)).toEqual(["0", "1"]);
    expect(record.retry).toHaveLength(14);
    expect(record.retry.every((r) => r.attempts === 0 && r.error === undefined)).toBe(true);
    expect(record.delay_ms).toBe(0);
  });

  it("fails the task a timeout hit, and leaves the ones after it unstarted", () => {
    const plan = planDelivery(message, [], noCounts, 1);
    const record = recordOf(
      { kind: "results", results: [ok(0), aborted], stopped: "timeout" },
      context(plan),
    );
    expect(record.retry[0]).toEqual({
      task_index: 1,
      attempts: 1,
      error: "task exceeded TASK_TIMEOUT (300000 ms)",
    });
    expect(record.retry.slice(1).every((r) => r.attempts === 0)).toBe(true);
  });

  it("isolates the tasks after a thread died under several, spending none of their attempts", () => {
    const plan = planDelivery(message, [], noCounts, 1);
    const record = recordOf({ kind: "thread-died", error: "exit 1" }, context(plan));
    expect(record.isolate).toBe(true);
    expect(record.retry.every((r) => r.attempts === 0)).toBe(true);
    const next = planDelivery(message, [record], noCounts, 2);
    expect(next).toMatchObject({ kind: "run", isolate: true });
    if (next.kind === "run") expect(next.run.every((t) => t.attempt === 1)).toBe(true);
  });

  it("charges a worker-actor crash to every pending task, once", () => {
    const crashed = { failures: 1, hand_backs: 0 };
    const plan = planDelivery(message, [], crashed, 2);
    if (plan.kind !== "run") throw new Error("expected a run");
    expect(plan.run.every((t) => t.attempt === 2)).toBe(true);
    const record = recordOf(
      { kind: "results", results: [failed("x")] },
      { ...context(plan), failures: 1 },
    );
    const next = planDelivery(message, [record], crashed, 3);
    if (next.kind !== "run") throw new Error("expected a run");
    expect(next.run.find((t) => t.task_index === 0)?.attempt).toBe(3);
    expect(next.run.find((t) => t.task_index === 1)?.attempt).toBe(2);
  });

  it("fails the tasks of a chunk whose lease ran out more than 10 times", () => {
    const plan = planDelivery(message, [], noCounts, 12);
    expect(plan).toMatchObject({ kind: "run", run: [] });
    if (plan.kind === "run") {
      expect(plan.given_up).toHaveLength(16);
      expect(plan.given_up[0]?.error).toContain("lease ran out 11 times");
    }
  });
});
