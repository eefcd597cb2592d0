import { afterAll, describe, expect, it } from "vitest";
import { heldOutSplit, trainingShard } from "../../src/training/dataset.ts";
import { builtinDataset } from "../../src/training/datasets/builtin.ts";
import { createTrainingPool } from "../../src/training/pool.ts";
import { validateTrainingSpec } from "../../src/training/training-spec.ts";

const pool = createTrainingPool({ threads: 2 });
afterAll(() => pool.close());

describe("built-in data sets", () => {
  it("ships Fisher's iris: 150 rows, four measurements, 50 of each of three species", () => {
    const iris = builtinDataset("iris");
    expect(iris).toMatchObject({
      rows: 150,
      features: ["sepal_length", "sepal_width", "petal_length", "petal_width"],
      target_column: "species",
      classes: ["setosa", "versicolor", "virginica"],
    });
    const counts = [0, 0, 0];
    for (const label of iris?.y ?? []) counts[label] = (counts[label] ?? 0) + 1;
    expect(counts).toEqual([50, 50, 50]);
    // The means every copy of the data set has (cm): a wrong digit anywhere would show.
    const means = [0, 1, 2, 3].map((j) => {
      let sum = 0;
      for (let r = 0; r < 150; r++) sum += iris?.x[r * 4 + j] ?? 0;
      return Math.round((sum / 150) * 1e4) / 1e4;
    });
    expect(means).toEqual([5.8433, 3.0573, 3.758, 1.1993]);
  });

  it("resolves dataset_id to the data set's own size and classes, shuffled by seed into every split", () => {
    const spec = validateTrainingSpec({
      model_type: "random_forest",
      dataset: { dataset_id: "iris", target_column: "species", seed: 3 },
    });
    expect(spec.ok && spec.value.dataset).toEqual({
      dataset_id: "iris",
      target_column: "species",
      samples: 150,
      features: 4,
      classes: 3,
      seed: 3,
      noise: 0,
    });
    if (!spec.ok) return;
    const heldOut = heldOutSplit(spec.value.dataset);
    expect(heldOut.n).toBe(30);
    expect(new Set(heldOut.y).size).toBe(3); // the rows are sorted by species in the file
    const shards = [0, 1, 2, 3].map((i) => trainingShard(spec.value.dataset, i, 4));
    expect(shards.reduce((n, s) => n + s.n, 0)).toBe(120);
  });

  it("trains the seed job orchestrator's iris random forest to 0.9 held-out accuracy", async () => {
    const dataset = { dataset_id: "iris", target_column: "species" };
    const hyperparameters = { n_trees: 100, max_depth: 5 };
    const results = await Promise.all(
      [0, 1, 2, 3].map((task_index) =>
        pool.run({ model_type: "random_forest", dataset, hyperparameters, tasks: 4, task_index }),
      ),
    );
    const resolved = validateTrainingSpec({ model_type: "random_forest", dataset });
    if (!resolved.ok) throw new Error("iris spec refused");
    const job = await pool.aggregate({
      model_type: "random_forest",
      dataset: resolved.value.dataset,
      models: results.map((r) => r.model),
    });
    expect(job.metrics.accuracy).toBeGreaterThanOrEqual(0.9);
  });

  it.each([
    [{ dataset_id: "titanic" }, "/dataset/dataset_id", "the built-in ones are iris"],
    [{ dataset_id: "iris", samples: 500 }, "/dataset/samples", "iris has 150 rows"],
    [{ dataset_id: "iris", target_column: "colour" }, "/dataset/target_column", '"species"'],
  ])("refuses %j naming the field and why", (dataset, path, message) => {
    const spec = validateTrainingSpec({ model_type: "svm", dataset });
    expect(spec.ok).toBe(false);
    expect(!spec.ok && spec.errors[0]?.path).toBe(path);
    expect(!spec.ok && spec.errors[0]?.message).toContain(message);
  });
});
