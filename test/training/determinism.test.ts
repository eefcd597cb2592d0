import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { CheckpointError, TrainingAbortedError } from "../../src/errors.ts";
import { createTrainingPool } from "../../src/training/pool.ts";
import type { TaskResult, TrainingCheckpoint } from "../../src/training/types.ts";
import { MODEL_TYPES, type ModelType, recorder, tinyTask } from "./specs.ts";

const pool = createTrainingPool({ threads: 2 });
afterAll(() => pool.close());

/** Everything of a result that must not depend on timing. */
function deterministic(result: TaskResult) {
  const { samples_per_s, duration_ms, ...metrics } = result.metrics;
  return { model: result.model, history: result.history, metrics, epochs: result.epochs };
}

const uninterrupted = new Map<
  ModelType,
  Promise<{ result: TaskResult; checkpoints: TrainingCheckpoint[] }>
>();
function reference(model_type: ModelType) {
  let run = uninterrupted.get(model_type);
  if (run === undefined) {
    const { checkpoints, options } = recorder();
    run = pool.run(tinyTask(model_type), options).then((result) => ({ result, checkpoints }));
    uninterrupted.set(model_type, run);
  }
  return run;
}

describe("determinism", () => {
  it.each(MODEL_TYPES)(
    "gives %s bit-identical metrics and model for the same spec and seed",
    async (model_type) => {
      const [a, b] = await Promise.all([
        pool.run(tinyTask(model_type)),
        pool.run(tinyTask(model_type)),
      ]);
      expect(a && deterministic(a)).toEqual(b && deterministic(b));
      const other = await pool.run(
        tinyTask(model_type, { dataset: { samples: 800, features: 6, classes: 3, seed: 12 } }),
      );
      expect(other.model).not.toEqual(a.model);
    },
  );

  it("resumes from the checkpoint of any epoch (the last has none) into exactly the uninterrupted model", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...MODEL_TYPES),
        fc.integer({ min: 1, max: 5 }),
        async (model_type, epoch) => {
          const { result, checkpoints } = await reference(model_type);
          const checkpoint = checkpoints[epoch - 1];
          expect(checkpoint?.epoch).toBe(epoch);
          const { progress, options } = recorder();
          const resumed = await pool.run(
            tinyTask(model_type, { checkpoint: checkpoint?.bytes }),
            options,
          );
          expect(resumed.resumed_from_epoch).toBe(epoch);
          expect(progress.map((p) => p.epoch)).toEqual(
            Array.from({ length: 6 - epoch }, (_, i) => epoch + i + 1),
          );
          expect(deterministic(resumed)).toEqual(deterministic(result));
        },
      ),
      { numRuns: 24 },
    );
  });

  it("resumes a task cancelled mid-run from its last checkpoint into the same model", async () => {
    const spec = tinyTask("neural_network", {
      epochs: 40,
      dataset: { samples: 3000, features: 6, classes: 3, seed: 1 },
    });
    const whole = await pool.run(spec);
    const controller = new AbortController();
    const { checkpoints } = recorder();
    const run = pool.run(spec, {
      signal: controller.signal,
      onCheckpoint: (c) => {
        checkpoints.push(c);
        if (c.epoch === 3) controller.abort();
      },
    });
    await expect(run).rejects.toBeInstanceOf(TrainingAbortedError);
    const last = checkpoints[checkpoints.length - 1];
    expect(last?.epoch).toBeGreaterThanOrEqual(3);
    expect(last?.epoch).toBeLessThan(40);
    const resumed = await pool.run({ ...spec, checkpoint: last?.bytes });
    expect(deterministic(resumed)).toEqual(deterministic(whole));
  });

  it("refuses a checkpoint of another task, and bytes that are no checkpoint", async () => {
    const { checkpoints } = await reference("xgboost");
    const foreign = tinyTask("xgboost", { task_index: 0, checkpoint: checkpoints[2]?.bytes });
    await expect(pool.run(foreign)).rejects.toBeInstanceOf(CheckpointError);
    const garbage = tinyTask("xgboost", { checkpoint: new Uint8Array([1, 2, 3]) });
    await expect(pool.run(garbage)).rejects.toMatchObject({
      code: "TROUPE_ERR_CHECKPOINT_INVALID",
    });
  });

  it("returns the checkpointed model when the checkpoint already holds every epoch", async () => {
    const { result, checkpoints } = await reference("random_forest");
    const done = await pool.run(tinyTask("random_forest", { checkpoint: checkpoints[5]?.bytes }));
    expect(deterministic(done)).toEqual(deterministic(result));
  });
});
