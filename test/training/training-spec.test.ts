import { afterAll, describe, expect, it } from "vitest";
import { TrainingSpecError } from "../../src/errors.ts";
import { MAX_DATA_CELLS } from "../../src/training/limits.ts";
import { createTrainingPool } from "../../src/training/pool.ts";
import { validateTrainingSpec } from "../../src/training/training-spec.ts";

function errorsOf(spec: unknown) {
  const result = validateTrainingSpec(spec);
  return result.ok ? [] : result.errors;
}

describe("training spec validation", () => {
  it("takes epochs as the number of trees of a tree model, not silently ignored", () => {
    const result = validateTrainingSpec({ model_type: "xgboost", epochs: 10 });
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.value.epochs).toBe(10);
    expect(result.value.hyperparameters).toMatchObject({ n_trees: 10 });
    const forest = validateTrainingSpec({ model_type: "random_forest" });
    if (!forest.ok) throw new Error(JSON.stringify(forest.errors));
    expect(forest.value.epochs).toBe(30); // n_trees' default, not the gradient models' 10
  });

  it("refuses epochs and n_trees that disagree, and too many trees, naming /epochs", () => {
    const both = errorsOf({ model_type: "xgboost", epochs: 10, hyperparameters: { n_trees: 40 } });
    expect(both).toEqual([
      { path: "/epochs", message: expect.stringContaining("number of trees") },
    ]);
    const tooMany = errorsOf({ model_type: "random_forest", epochs: 600 });
    expect(tooMany.map((e) => e.path)).toEqual(["/epochs"]);
    expect(
      errorsOf({ model_type: "xgboost", epochs: 40, hyperparameters: { n_trees: 40 } }),
    ).toEqual([]);
  });

  it("fills every documented default of the dataset and the model's hyperparameters", () => {
    const result = validateTrainingSpec({ model_type: "neural_network" });
    expect(result).toEqual({
      ok: true,
      value: {
        model_type: "neural_network",
        dataset: { samples: 10_000, features: 20, classes: 2, seed: 0, noise: 1 },
        epochs: 10,
        tasks: 4,
        hyperparameters: {
          learning_rate: 0.01,
          batch_size: 32,
          hidden_units: 32,
          hidden_layers: 1,
          optimizer: "adam",
          l2: 0,
        },
      },
    });
  });

  it("keeps the values given and does not modify its input", () => {
    const spec = { model_type: "xgboost", hyperparameters: { max_depth: 6 } };
    const result = validateTrainingSpec(spec);
    expect(result.ok && result.value.hyperparameters).toMatchObject({ max_depth: 6, n_trees: 50 });
    expect(spec).toEqual({ model_type: "xgboost", hyperparameters: { max_depth: 6 } });
  });

  it("names the hyperparameter that is out of range", () => {
    expect(errorsOf({ model_type: "random_forest", hyperparameters: { max_depth: 40 } })).toEqual([
      { path: "/hyperparameters/max_depth", message: expect.stringContaining("20") },
    ]);
  });

  it("reports every field at fault at once: top level, dataset and hyperparameters together", () => {
    const errors = errorsOf({
      model_type: "xgboost",
      tasks: 0,
      epochs: "ten",
      dataset: { samples: 10, colour: "red" },
      hyperparameters: { max_depht: 5, n_trees: 0 },
    });
    expect(errors.map((e) => e.path).sort()).toEqual([
      "/dataset/colour",
      "/dataset/samples",
      "/epochs",
      "/hyperparameters/max_depht",
      "/hyperparameters/n_trees",
      "/tasks",
    ]);
  });

  it("still checks the dataset when the model type is unknown, and not hyperparameters it cannot know", () => {
    const errors = errorsOf({
      model_type: "kernel_svm",
      dataset: { samples: 10 },
      hyperparameters: { max_depth: 5 },
    });
    expect(errors.map((e) => e.path)).toEqual(["/model_type", "/dataset/samples"]);
  });

  it("rejects a hyperparameter that belongs to another model, naming it", () => {
    const errors = errorsOf({ model_type: "logistic_regression", hyperparameters: { n_trees: 5 } });
    expect(errors).toEqual([{ path: "/hyperparameters/n_trees", message: "unknown field" }]);
  });

  it("explains an invalid choice with the documented options", () => {
    const errors = errorsOf({
      model_type: "neural_network",
      hyperparameters: { optimizer: "rmsprop" },
    });
    expect(errors[0]?.path).toBe("/hyperparameters/optimizer");
    expect(errors[0]?.message).toBe(`must be one of "sgd", "adam"`);
  });

  it("rejects an unknown model type and a malformed dataset field", () => {
    expect(errorsOf({ model_type: "kernel_svm" })[0]?.path).toBe("/model_type");
    expect(errorsOf({ model_type: "xgboost", dataset: { classes: 1 } })[0]?.path).toBe(
      "/dataset/classes",
    );
  });

  it("bounds samples × features, naming the samples", () => {
    const errors = errorsOf({
      model_type: "logistic_regression",
      dataset: { samples: 1_000_000, features: 11 },
    });
    expect(errors).toEqual([
      { path: "/dataset/samples", message: expect.stringContaining(String(MAX_DATA_CELLS)) },
    ]);
  });

  it("refuses more tasks than the training rows can shard", () => {
    expect(errorsOf({ model_type: "xgboost", dataset: { samples: 100 }, tasks: 20 })).toEqual([
      { path: "/tasks", message: expect.stringContaining("shard") },
    ]);
  });

  it("bounds the network size, naming hidden_units", () => {
    const errors = errorsOf({
      model_type: "neural_network",
      dataset: { samples: 5000, features: 1000 },
      hyperparameters: { hidden_units: 1024, hidden_layers: 2 },
    });
    expect(errors.map((e) => e.path)).toEqual(["/hyperparameters/hidden_units"]);
  });

  it("bounds the ensemble size, naming n_trees", () => {
    const errors = errorsOf({
      model_type: "xgboost",
      dataset: { samples: 1_000_000, features: 5, classes: 100 },
      tasks: 1,
      hyperparameters: { n_trees: 1000, max_depth: 12 },
    });
    expect(errors.map((e) => e.path)).toEqual(["/hyperparameters/n_trees"]);
  });
});

describe("the pool's input check", () => {
  const pool = createTrainingPool({ threads: 1 });
  afterAll(() => pool.close());

  it("rejects a bad task before it reaches a thread, naming the field", async () => {
    const run = pool.run({ model_type: "xgboost", task_index: 0, hyperparameters: { n_bins: 1 } });
    await expect(run).rejects.toBeInstanceOf(TrainingSpecError);
    await expect(run).rejects.toMatchObject({
      code: "TROUPE_ERR_TRAINING_SPEC",
      field: "/hyperparameters/n_bins",
      statusCode: 400,
    });
  });

  it("rejects a task index outside the job's tasks", async () => {
    await expect(
      pool.run({ model_type: "logistic_regression", tasks: 2, task_index: 2 }),
    ).rejects.toMatchObject({ field: "/task_index" });
  });
});
