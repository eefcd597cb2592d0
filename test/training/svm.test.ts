import { afterAll, describe, expect, it } from "vitest";
import { createTrainingPool } from "../../src/training/pool.ts";
import { validateTrainingSpec } from "../../src/training/training-spec.ts";
import { recorder } from "./specs.ts";

const pool = createTrainingPool({ threads: 2 });
afterAll(() => pool.close());

// Two classes whose centres lie far apart relative to the noise: a hyperplane separates them.
const separable = { samples: 3000, features: 10, classes: 2, seed: 21, noise: 0.25 };

describe("svm (linear, hinge loss)", () => {
  it("reaches 0.95 held-out accuracy on a linearly separable data set, its hinge loss falling", async () => {
    const { progress, options } = recorder();
    const result = await pool.run(
      { model_type: "svm", dataset: separable, epochs: 8, tasks: 2, task_index: 0 },
      options,
    );
    expect(result.metrics.accuracy).toBeGreaterThanOrEqual(0.95);
    expect(progress.map((p) => p.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(progress.at(-1)?.loss).toBeLessThan(progress[0]?.loss ?? 0);
  });

  it("combines a job's tasks into one separator with 0.95 held-out accuracy", async () => {
    const tasks = [0, 1, 2, 3];
    const results = await Promise.all(
      tasks.map((task_index) =>
        pool.run({ model_type: "svm", dataset: separable, tasks: 4, task_index }),
      ),
    );
    const job = await pool.aggregate({
      model_type: "svm",
      dataset: separable,
      models: results.map((r) => r.model),
    });
    expect(job.metrics.accuracy).toBeGreaterThanOrEqual(0.95);
  });

  it("resumes from a checkpoint into exactly the model of the uninterrupted run", async () => {
    const spec = { model_type: "svm" as const, dataset: separable, epochs: 5, task_index: 1 };
    const { checkpoints, options } = recorder();
    const whole = await pool.run(spec, options);
    const resumed = await pool.run({ ...spec, checkpoint: checkpoints[2]?.bytes });
    expect(resumed.resumed_from_epoch).toBe(3);
    expect(resumed.model).toEqual(whole.model);
    expect(resumed.metrics.accuracy).toBe(whole.metrics.accuracy);
  });

  it("takes c as scikit-learn's C: a smaller c regularizes more (smaller weights, more hinge)", async () => {
    const spec = { model_type: "svm" as const, dataset: separable, epochs: 5, task_index: 0 };
    const loose = await pool.run({ ...spec, hyperparameters: { c: 100 } });
    const tight = await pool.run({ ...spec, hyperparameters: { c: 0.001 } });
    expect(tight.metrics.loss).toBeGreaterThan(loose.metrics.loss);
  });

  it("refuses an unknown or out-of-range hyperparameter, naming it", () => {
    const bad = validateTrainingSpec({
      model_type: "svm",
      hyperparameters: { c: 0, kernel: "rbf" },
    });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.errors.map((e) => e.path).sort()).toEqual([
      "/hyperparameters/c",
      "/hyperparameters/kernel",
    ]);
  });
});
