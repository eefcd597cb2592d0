import { describe, expect, it } from "vitest";
import { InvalidRequestError } from "../../src/errors.ts";
import { parseJobSpec } from "../../src/jobs/job-spec.ts";

const parse = (body: unknown) => parseJobSpec(body, { maxAttempts: 4 });

function problems(body: unknown): { path: string; message: string }[] {
  try {
    parse(body);
  } catch (error) {
    if (error instanceof InvalidRequestError) return [...error.problems];
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(body)} to be refused`);
}

// Seed 001's documented submit body (its README, "POST /api/v1/jobs"), less its `template`.
const seed001 = {
  parameters: {
    dataset_name: "iris",
    algorithm: "random_forest",
    target_column: "species",
    hyperparameters: { n_estimators: 100, max_depth: 5 },
  },
  priority: "high",
  resources: { cpu_cores: 4, memory_gb: 8 },
  dependencies: [],
  retry_policy: { max_attempts: 3, retry_delay: 60 },
};

describe("the seed services' names in a job spec", () => {
  it("resolves seed 001's submit body into the one schema", () => {
    const spec = parse(seed001);
    expect(spec).toMatchObject({
      model_type: "random_forest",
      dataset: { dataset_id: "iris", target_column: "species", samples: 150, classes: 3 },
      epochs: 100,
      hyperparameters: { n_trees: 100, max_depth: 5 },
      priority: "high",
      resources: { cpu_cores: 4, memory_gb: 8, gpu_count: 0 },
      retry_policy: { max_attempts: 3, backoff_ms: 60_000 },
    });
    expect(spec).toEqual(
      parse({
        model_type: "random_forest",
        dataset: { dataset_id: "iris", target_column: "species" },
        hyperparameters: { n_trees: 100, max_depth: 5 },
        priority: "high",
        resources: { cpu_cores: 4, memory_gb: 8 },
        depends_on: [],
        retry_policy: { max_attempts: 3, backoff_ms: 60_000 },
      }),
    );
  });

  it("takes its workflow example's dataset and test_split, and refuses a test_split out of range", () => {
    const spec = parse({ parameters: { algorithm: "svm", dataset: "iris", test_split: 0.2 } });
    expect(spec.dataset).toMatchObject({ dataset_id: "iris", test_fraction: 0.2 });
    expect(problems({ parameters: { algorithm: "svm", test_split: 1.5 } })).toEqual([
      expect.objectContaining({ path: "/parameters/test_split" }),
    ]);
  });

  it("does not modify the body it was given", () => {
    const body = structuredClone(seed001);
    parse(body);
    expect(body).toEqual(seed001);
  });

  it("reads the other keys of parameters as hyperparameters, with their seed names", () => {
    expect(parse({ parameters: { algorithm: "svm", C: 10 } })).toMatchObject({
      model_type: "svm",
      hyperparameters: { c: 10 },
    });
    expect(
      parse({
        parameters: { algorithm: "neural_network", max_epochs: 7, batch_size: 16 },
      }),
    ).toMatchObject({ epochs: 7, hyperparameters: { batch_size: 16 } });
    expect(parse({ model_type: "xgboost", hyperparameters: { n_estimators: 12 } })).toMatchObject({
      epochs: 12,
      hyperparameters: { n_trees: 12 },
    });
  });

  it("keeps resources.storage_gb with the job", () => {
    expect(parse({ model_type: "svm", resources: { storage_gb: 10 } }).resources).toEqual({
      cpu_cores: 1,
      memory_gb: 1,
      gpu_count: 0,
      storage_gb: 10,
    });
  });

  it("names a value given both ways, differently, at the seed's name", () => {
    expect(
      problems({ model_type: "svm", parameters: { algorithm: "xgboost" } }).map((p) => p.path),
    ).toEqual(["/parameters/algorithm"]);
    const [both] = problems({
      model_type: "xgboost",
      hyperparameters: { n_trees: 10, n_estimators: 20 },
    });
    expect(both).toEqual({
      path: "/hyperparameters/n_estimators",
      message:
        "/hyperparameters/n_trees is given twice, with different values: give one (/hyperparameters/n_estimators is another name for /hyperparameters/n_trees)",
    });
    expect(
      problems({
        model_type: "svm",
        retry_policy: { backoff_ms: 1000, retry_delay: 60 },
      }).map((p) => p.path),
    ).toEqual(["/retry_policy/retry_delay"]);
    // The same value twice is no conflict.
    expect(parse({ model_type: "svm", parameters: { algorithm: "svm" } }).model_type).toBe("svm");
  });

  it("reports a problem where the sender wrote the value", () => {
    expect(problems({ parameters: { algorithm: "random_forest", C: 1 } })).toEqual([
      { path: "/parameters/C", message: "unknown field" },
    ]);
    expect(problems({ parameters: { algorithm: "kernel_svm" } })[0]?.path).toBe(
      "/parameters/algorithm",
    );
    expect(problems({ parameters: { algorithm: "svm", dataset_name: "titanic" } })[0]?.path).toBe(
      "/parameters/dataset_name",
    );
  });

  it.each([
    [{ model_type: "svm", parameters: "iris" }, "/parameters", "must be an object"],
    [
      { model_type: "svm", retry_policy: { retry_delay: "1m" } },
      "/retry_policy/retry_delay",
      "seconds",
    ],
    [{ model_type: "svm", dependencies: ["job_x"] }, "/dependencies/0", "pattern"],
    [{ template: "ml_training_template", model_type: "svm" }, "/template", "unknown field"],
  ])("refuses %j naming %s", (body, path, message) => {
    const found = problems(body).find((p) => p.path === path);
    expect(found?.message).toContain(message);
  });

  it("keeps a __proto__ key a plain field that the schema refuses", () => {
    const body = JSON.parse('{"model_type":"svm","hyperparameters":{"__proto__":{"c":5}}}');
    expect(problems(body)).toEqual([
      { path: "/hyperparameters/__proto__", message: "unknown field" },
    ]);
  });
});
