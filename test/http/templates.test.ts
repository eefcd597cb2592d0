import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HttpFixture, spec, startHttpFixture } from "./support.ts";

let fx: HttpFixture;
let url: string;

beforeAll(async () => {
  fx = await startHttpFixture();
  ({ url } = await fx.serve());
});
afterAll(() => fx.close());

// biome-ignore lint/suspicious/noExplicitAny: the JSON is asserted field by field
type Json = Record<string, any>;

async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

describe("job templates", () => {
  it("lists a built-in template per model type and hyperparameter_tuning, parameters described from the schema", async () => {
    const { status, body } = await call("GET", "/api/v1/templates");
    expect(status).toBe(200);
    const ids = body.templates.map((t: Json) => t.id);
    for (const id of ["logistic_regression", "neural_network", "random_forest", "xgboost", "svm"]) {
      expect(ids).toContain(id);
    }
    const tuning = body.templates.find((t: Json) => t.id === "hyperparameter_tuning");
    expect(tuning).toMatchObject({ built_in: true, category: "hyperparameter_tuning" });
    expect(tuning.parameters.find((p: Json) => p.name === "algorithm")).toMatchObject({
      type: "string",
      required: true,
      options: expect.arrayContaining(["svm", "random_forest"]),
    });
    const forest = body.templates.find((t: Json) => t.id === "random_forest");
    const params = new Map(forest.parameters.map((p: Json) => [p.name, p]));
    expect(params.get("algorithm")).toMatchObject({ required: false, default: "random_forest" });
    expect(params.get("n_trees")).toMatchObject({ type: "integer", required: false, minimum: 1 });
    expect(params.get("hyperparameters")).toMatchObject({ type: "object", required: false });
  });

  it("creates seed 001's documented template on a base, and submits jobs from it with parameters", async () => {
    // Seed 001's body as written, its base named after a template that exists here.
    const created = await call("POST", "/api/v1/templates", {
      name: "custom_training_template",
      description: "Custom training workflow",
      base_template: "random_forest",
      custom_parameters: {
        preprocessing_steps: ["normalize", "feature_selection"],
        validation_strategy: "cross_validation",
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id: "custom_training_template",
      base_template: "random_forest",
      built_in: false,
      custom_parameters: { validation_strategy: "cross_validation" },
    });
    expect(created.body.parameters.map((p: Json) => p.name)).toContain("n_trees");
    const again = await call("POST", "/api/v1/templates", { name: "custom_training_template" });
    expect(again.status).toBe(409);

    const submitted = await call("POST", "/api/v1/jobs", {
      template: "custom_training_template",
      parameters: { dataset_name: "iris", n_estimators: 20 },
      priority: "high",
    });
    expect(submitted.status).toBe(202);
    const job = await call("GET", `/api/v1/jobs/${submitted.body.job_id}`);
    expect(job.body).toMatchObject({
      model_type: "random_forest",
      priority: "high",
      spec: { hyperparameters: { n_trees: 20 }, dataset: { dataset_id: "iris" } },
    });
  });

  it("takes seed 001's batch of template jobs, in parallel or in sequence", async () => {
    const jobs = [
      { template: "hyperparameter_tuning", parameters: { algorithm: "svm", C: 1.0 } },
      { template: "hyperparameter_tuning", parameters: { algorithm: "svm", C: 10.0 } },
    ];
    const parallel = await call("POST", "/api/v1/jobs/batch", { jobs, execution_mode: "parallel" });
    expect(parallel.status).toBe(202);
    expect(parallel.body).toMatchObject({ submitted: 2, failed: 0 });
    const first = await call("GET", `/api/v1/jobs/${parallel.body.results[0].job_id}`);
    expect(first.body).toMatchObject({
      model_type: "svm",
      total_tasks: 2,
      spec: { hyperparameters: { c: 1 } },
    });
    expect(first.body.spec.depends_on).toBeUndefined();

    const sequential = await call("POST", "/api/v1/jobs/batch", {
      jobs,
      execution_mode: "sequential",
    });
    const [a, b] = sequential.body.results.map((r: Json) => r.job_id);
    const second = await call("GET", `/api/v1/jobs/${b}`);
    expect(second.body.spec.depends_on).toEqual([a]);

    const bad = await call("POST", "/api/v1/jobs/batch", {
      jobs: [
        jobs[0],
        { template: "hyperparameter_tuning", parameters: { algorithm: "svm", C: -1 } },
      ],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([
      { path: "/jobs/1/parameters/C", message: expect.stringContaining("must be") },
    ]);
  });

  it("refuses a chain with a cycle or an unknown base, and a merged spec that is invalid, naming the field and the template", async () => {
    const loop = await call("POST", "/api/v1/templates", { name: "loop", base_template: "loop" });
    expect(loop.status).toBe(400);
    expect(loop.body.errors).toEqual([
      { path: "/base_template", message: "template chain has a cycle: loop → loop" },
    ]);
    const shared = await call("POST", "/api/v1/templates", {
      name: "shared",
      job: { idempotency_key: "once", epochs: 2 },
    });
    expect(shared.body.errors).toEqual([
      {
        path: "/job/idempotency_key",
        message: "belongs to one job, not to a template (every job made from it would share it)",
      },
    ]);
    const orphan = await call("POST", "/api/v1/templates", {
      name: "orphan",
      base_template: "nope",
    });
    expect(orphan.body.errors).toEqual([
      { path: "/base_template", message: "no template 'nope' (base of 'orphan')" },
    ]);
    const early = await call("POST", "/api/v1/templates", {
      name: "too_fast",
      default_parameters: { algorithm: "logistic_regression", learning_rate: 50 },
    });
    expect(early.status).toBe(400);
    expect(early.body.errors[0]).toMatchObject({
      path: "/parameters/learning_rate",
      message: expect.stringContaining("(set by template 'too_fast')"),
    });

    const fast = await call("POST", "/api/v1/templates", {
      name: "fast_any_model",
      default_parameters: { learning_rate: 50 },
      job: { epochs: 2 },
    });
    expect(fast.status).toBe(201);
    const submitted = await call("POST", "/api/v1/jobs", {
      template: "fast_any_model",
      parameters: { algorithm: "logistic_regression" },
    });
    expect(submitted.status).toBe(400);
    expect(submitted.body.errors).toEqual([
      {
        path: "/parameters/learning_rate",
        message: expect.stringMatching(/\(set by template 'fast_any_model'\)$/),
      },
    ]);
    const unknown = await call("POST", "/api/v1/jobs", { template: "nope", parameters: {} });
    expect(unknown.body.errors).toEqual([{ path: "/template", message: "no template 'nope'" }]);
    // A name no template may have (found by the NATS fuzz test: it was a 500).
    for (const name of ["", "C5{"]) {
      const odd = await call("POST", "/api/v1/jobs", { template: name, parameters: {} });
      expect(odd.status).toBe(400);
      expect(odd.body.errors).toEqual([{ path: "/template", message: `no template '${name}'` }]);
    }
  });

  it("deletes a created template, but not a built-in one nor one others build on", async () => {
    await call("POST", "/api/v1/templates", { name: "base_one", base_template: "svm" });
    await call("POST", "/api/v1/templates", { name: "on_base_one", base_template: "base_one" });
    expect((await call("DELETE", "/api/v1/templates/svm")).status).toBe(409);
    const inUse = await call("DELETE", "/api/v1/templates/base_one");
    expect(inUse.status).toBe(409);
    expect(inUse.body.detail).toContain("on_base_one");
    expect((await call("DELETE", "/api/v1/templates/on_base_one")).body).toEqual({
      deleted: "on_base_one",
    });
    expect((await call("GET", "/api/v1/templates/on_base_one")).status).toBe(404);
    expect((await call("GET", "/api/v1/templates/svm")).status).toBe(200);
  });

  it("takes a workflow whose steps are templates, and names a bad step's field", async () => {
    const ok = await call("POST", "/api/v1/workflows", {
      workflow_name: "templated",
      steps: [
        { step_id: "train", job_template: "svm", parameters: { C: 2 } },
        {
          step_id: "tune",
          job_template: "hyperparameter_tuning",
          depends_on: ["train"],
          parameters: { algorithm: "xgboost" },
        },
      ],
    });
    expect(ok.status).toBe(202);
    expect(ok.body).toMatchObject({ status: "RUNNING", total_steps: 2 });
    const record = await call("GET", `/api/v1/workflows/${ok.body.workflow_id}`);
    expect(record.body.steps.map((s: Json) => s.status)).toEqual(["PENDING", "PENDING"]);
    const bad = await call("POST", "/api/v1/workflows", {
      workflow_name: "templated",
      steps: [
        { step_id: "a", job_template: "nope" },
        { step_id: "b", job_template: "hyperparameter_tuning" },
        { step_id: "c", job: spec({ epochs: 0 }) },
      ],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([
      { path: "/steps/0/job_template", message: "no template 'nope'" },
      expect.objectContaining({ path: "/steps/1/model_type" }),
      expect.objectContaining({ path: "/steps/2/job/epochs" }),
    ]);
  });
});
