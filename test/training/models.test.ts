import { afterAll, describe, expect, it } from "vitest";
import { createTrainingPool } from "../../src/training/pool.ts";
import { MODEL_TYPES, recorder } from "./specs.ts";

// Default hyperparameters on the default (separable) dataset: what the acceptance asks for.
const pool = createTrainingPool({ threads: 2 });
afterAll(() => pool.close());

describe.each(MODEL_TYPES)("%s with default hyperparameters", (model_type) => {
  it("reaches 0.9 held-out accuracy while its loss falls, reporting every epoch and checkpointing", async () => {
    const { progress, checkpoints, options } = recorder();
    const result = await pool.run({ model_type, task_index: 0 }, options);
    const epochs = model_type === "xgboost" ? 50 : model_type === "random_forest" ? 30 : 10;
    expect(result.metrics.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(result.epochs).toBe(epochs);
    expect(progress.map((p) => p.epoch)).toEqual(Array.from({ length: epochs }, (_, i) => i + 1));
    // A checkpoint after every epoch but the last (the result replaces that one).
    expect(checkpoints.map((c) => c.epoch)).toEqual(progress.map((p) => p.epoch).slice(0, -1));
    const first = progress[0];
    const last = progress[progress.length - 1];
    expect(last?.loss).toBeLessThan(first?.loss ?? 0);
    expect(last?.loss).toBe(result.metrics.loss);
    expect(result.metrics).toMatchObject({ train_samples: 2000, heldout_samples: 2000 });
    expect(progress.every((p) => p.samples_per_s > 0 && p.epochs === epochs)).toBe(true);
  });

  it("learns three classes (softmax) to 0.9 held-out accuracy", async () => {
    const result = await pool.run({
      model_type,
      task_index: 1,
      dataset: { samples: 3000, features: 8, classes: 3, seed: 5 },
    });
    expect(result.metrics.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(result.history[0]?.loss).toBeGreaterThan(result.metrics.loss);
  });
});

describe("job-level aggregation", () => {
  it.each(MODEL_TYPES)(
    "combines the tasks of a %s job into one model with 0.9 held-out accuracy",
    async (model_type) => {
      const dataset = { samples: 4000, features: 10, classes: 3, seed: 9 };
      const results = await Promise.all(
        [0, 1, 2, 3].map((task_index) => pool.run({ model_type, dataset, task_index, tasks: 4 })),
      );
      const job = await pool.aggregate({
        model_type,
        dataset: { ...dataset, noise: 1 },
        models: results.map((r) => r.model),
      });
      expect(job).toMatchObject({ model_type, tasks: 4, metrics: { heldout_samples: 800 } });
      expect(job.metrics.accuracy).toBeGreaterThanOrEqual(0.9);
      expect(job.model).toBeInstanceOf(Uint8Array);
    },
  );

  it("refuses models of another type", async () => {
    const result = await pool.run({ model_type: "logistic_regression", task_index: 0 });
    await expect(
      pool.aggregate({
        model_type: "xgboost",
        dataset: { samples: 10_000, features: 20, classes: 2, seed: 0, noise: 1 },
        models: [result.model],
      }),
    ).rejects.toMatchObject({ code: "TROUPE_ERR_TRAINING_FAILED" });
  });
});
