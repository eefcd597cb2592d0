import { describe, expect, it } from "vitest";
import { PoolUnavailableError, TrainingAbortedError, TrainingSpecError } from "../../src/errors.ts";
import { createTrainingPool, workerFilename } from "../../src/training/pool.ts";
import type { TaskInput, TrainingProgress } from "../../src/training/types.ts";
import { tinyTask } from "./specs.ts";

/** A task that would train for minutes: only cancellation ends it in a test. */
const longTask: TaskInput = {
  model_type: "neural_network",
  dataset: { samples: 20_000, features: 20, classes: 2, seed: 2 },
  epochs: 1000,
  tasks: 1,
  task_index: 0,
};

/** Starts `input` and resolves once its first epoch is reported, i.e. it is training. */
function startTraining(
  pool: ReturnType<typeof createTrainingPool>,
  input: TaskInput,
  signal: AbortSignal,
) {
  const seen: TrainingProgress[] = [];
  let firstEpoch!: () => void;
  const training = new Promise<void>((resolve) => {
    firstEpoch = resolve;
  });
  const run = pool.run(input, {
    signal,
    onProgress: (p) => {
      seen.push(p);
      firstEpoch();
    },
  });
  run.catch(() => {});
  return { run, training, seen };
}

describe("training pool", () => {
  it("stops a long task between mini-batches within 500 ms of the abort, keeping its thread", async () => {
    await using pool = createTrainingPool({ threads: 1 });
    const controller = new AbortController();
    const { run, training, seen } = startTraining(pool, longTask, controller.signal);
    await training;
    const abortedAt = performance.now();
    controller.abort();
    const error = await run.catch((e: unknown) => e);
    const latencyMs = performance.now() - abortedAt;
    expect(error).toBeInstanceOf(TrainingAbortedError);
    expect((error as Error).message).not.toContain("terminated");
    expect(latencyMs).toBeLessThan(500);
    const reported = seen.length;
    const next = await pool.run(tinyTask("logistic_regression"));
    expect(next.epochs).toBe(6);
    expect(seen.length).toBe(reported);
  });

  it("terminates a thread that outlives the abort grace period, and keeps serving", async () => {
    await using pool = createTrainingPool({ threads: 1, abortGraceMs: 0 });
    const controller = new AbortController();
    const { run, training } = startTraining(pool, longTask, controller.signal);
    await training;
    controller.abort();
    await expect(run).rejects.toBeInstanceOf(TrainingAbortedError);
    const next = await pool.run(tinyTask("xgboost"));
    expect(next.epochs).toBe(6);
  });

  it("rejects at once a task whose signal is already aborted", async () => {
    await using pool = createTrainingPool({ threads: 1 });
    await expect(
      pool.run(tinyTask("random_forest"), { signal: AbortSignal.abort() }),
    ).rejects.toBeInstanceOf(TrainingAbortedError);
  });

  it("aborts a task queued behind a busy thread without running it", async () => {
    await using pool = createTrainingPool({ threads: 1 });
    const busy = new AbortController();
    const { run, training } = startTraining(pool, longTask, busy.signal);
    await training;
    const queued = new AbortController();
    const progress: TrainingProgress[] = [];
    const waiting = pool.run(tinyTask("logistic_regression"), {
      signal: queued.signal,
      onProgress: (p) => progress.push(p),
    });
    queued.abort();
    await expect(waiting).rejects.toBeInstanceOf(TrainingAbortedError);
    busy.abort();
    await expect(run).rejects.toBeInstanceOf(TrainingAbortedError);
    expect(progress).toEqual([]);
  });

  it("fails the task with the error a progress callback throws, and stays usable", async () => {
    await using pool = createTrainingPool({ threads: 1 });
    const boom = new Error("callback failed");
    await expect(
      pool.run(tinyTask("neural_network"), {
        onProgress: () => {
          throw boom;
        },
      }),
    ).rejects.toBe(boom);
    expect((await pool.run(tinyTask("neural_network"))).epochs).toBe(6);
  });

  it("reports a one-epoch task's epoch with its result, and fails it if that callback throws", async () => {
    await using pool = createTrainingPool({ threads: 1 });
    const progress: TrainingProgress[] = [];
    const checkpoints: number[] = [];
    const result = await pool.run(tinyTask("logistic_regression", { epochs: 1 }), {
      onProgress: (p) => progress.push(p),
      onCheckpoint: (c) => checkpoints.push(c.epoch),
    });
    expect(progress.map((p) => [p.epoch, p.epochs])).toEqual([[1, 1]]);
    expect(progress[0]?.loss).toBe(result.metrics.loss);
    expect(checkpoints).toEqual([]);
    const boom = new Error("callback failed");
    await expect(
      pool.run(tinyTask("logistic_regression", { epochs: 1 }), {
        onProgress: () => {
          throw boom;
        },
      }),
    ).rejects.toBe(boom);
  });

  it("runs a no-op task through the same path, for overhead measurements", async () => {
    await using pool = createTrainingPool({ threads: 2 });
    await expect(Promise.all([pool.noop(), pool.noop(), pool.noop()])).resolves.toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });

  it("closes once, however often asked, and refuses work afterwards", async () => {
    const pool = createTrainingPool({ threads: 1 });
    await pool.noop();
    const first = pool.close();
    expect(pool.close()).toBe(first);
    await first;
    await expect(pool.closed()).resolves.toBeUndefined();
    await expect(pool.noop()).rejects.toBeInstanceOf(PoolUnavailableError);
    await expect(pool.run(tinyTask("xgboost"))).rejects.toMatchObject({
      code: "TROUPE_ERR_POOL_UNAVAILABLE",
    });
  });

  it("lets running tasks finish on a graceful close", async () => {
    const pool = createTrainingPool({ threads: 1 });
    const run = pool.run(tinyTask("random_forest"));
    await pool.close();
    expect((await run).epochs).toBe(6);
  });

  it("aborts running tasks on a forced close", async () => {
    const pool = createTrainingPool({ threads: 1 });
    const { run, training } = startTraining(pool, longTask, new AbortController().signal);
    await training;
    await pool.close({ force: true });
    await expect(run).rejects.toBeInstanceOf(TrainingAbortedError);
    await expect(pool.closed()).resolves.toBeUndefined();
  });

  it("validates aggregation input on the main thread, naming the field", async () => {
    await using pool = createTrainingPool({ threads: 1 });
    await expect(
      pool.aggregate({
        model_type: "xgboost",
        dataset: { samples: 1000, features: 5, classes: 2, seed: 0, noise: 1 },
        models: [],
      }),
    ).rejects.toMatchObject({ field: "/models" });
    await expect(
      pool.aggregate({
        model_type: "xgboost",
        dataset: { samples: 10, features: 5, classes: 2, seed: 0, noise: 1 },
        models: [new Uint8Array(1)],
      }),
    ).rejects.toBeInstanceOf(TrainingSpecError);
  });

  it("loads the thread entry from source through the bootstrap, and from a build directly", () => {
    expect(workerFilename("file:///app/src/training/pool.ts")).toBe(
      "file:///app/src/training/task-bootstrap.mjs",
    );
    expect(workerFilename("file:///app/dist/training/pool.js")).toBe(
      "file:///app/dist/training/task.js",
    );
  });
});
