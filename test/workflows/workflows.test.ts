import { beforeAll, describe, expect, it } from "vitest";
import { type ApiClient, apiClient } from "../support/api-client.ts";
import { flowersCsv, uploadCsv } from "../support/datasets.ts";
import { getJob, longSpec, quickSpec } from "../support/jobs.ts";
import { startNats } from "../support/nats.ts";
import { startTroupes } from "../support/troupe-process.ts";
import { getWorkflow, stepStates, submitWorkflow, waitForWorkflow } from "../support/workflows.ts";

let client: ApiClient;
let base: string;

beforeAll(async () => {
  const nats = await startNats();
  const [troupe] = await startTroupes(1, nats.url, { MAX_CONCURRENT_TASKS: "3" });
  client = await apiClient(nats.url);
  base = (await troupe?.waitForLog("troupe started"))?.http as string;
  expect((await uploadCsv(base, "flowers", flowersCsv(600))).status).toBe(201);
}, 60_000);

// The flowers are easy: logistic regression reaches an accuracy well past 0.8 on them.
const flowers = { dataset_id: "flowers" };

/** train → evaluate → predict → publish, predict gated on evaluate's accuracy. */
function pipeline(threshold: number) {
  return {
    workflow_name: "gated_pipeline",
    description: "train, evaluate, predict if good enough",
    steps: [
      {
        step_id: "train",
        job: quickSpec({ model_type: "logistic_regression", dataset: flowers, epochs: 20 }),
      },
      {
        step_id: "evaluate",
        job: { task_type: "evaluate", dataset: flowers, tasks: 1 },
        model: { from_step: "train" },
        depends_on: ["train"],
      },
      {
        step_id: "predict",
        job: { task_type: "predict", dataset: flowers, tasks: 2 },
        model: { from_step: "train" },
        depends_on: ["evaluate"],
        condition: { step: "evaluate", metric: "accuracy", op: ">=", value: threshold },
      },
      { step_id: "publish", job: quickSpec({ tasks: 1 }), depends_on: ["predict"] },
    ],
  };
}

describe("workflows", () => {
  it("runs each step once, in order, when the condition holds, and announces it on its subject", async () => {
    const seen: { status: string }[] = [];
    const sub = client.nc.subscribe("troupe.events.workflow.*", {
      callback: (_e, msg) => {
        seen.push(JSON.parse(new TextDecoder().decode(msg.data)));
      },
    });
    const id = await submitWorkflow(client, pipeline(0.8));
    const done = await waitForWorkflow(client, id);
    sub.unsubscribe();
    expect(done.status).toBe("COMPLETED");
    expect(stepStates(done)).toEqual({
      train: "COMPLETED",
      evaluate: "COMPLETED",
      predict: "COMPLETED",
      publish: "COMPLETED",
    });
    const evaluate = done.steps.find((s) => s.step_id === "evaluate");
    expect(evaluate?.metrics?.accuracy).toBeGreaterThanOrEqual(0.8);
    const jobs = await Promise.all(done.steps.map((s) => getJob(client, s.job_id as string)));
    // Evaluate and predict ran on the model the train step made, once each.
    const [train, evaluated, predicted] = jobs;
    for (const job of [evaluated, predicted]) {
      expect(job?.spec).toMatchObject({ model: { job_id: train?.job_id } });
    }
    expect(evaluated?.spec.task_type).toBe("evaluate");
    const predictions = await fetch(
      `${base}/api/v1/jobs/${predicted?.job_id}/artifacts/predictions.csv`,
    );
    expect((await predictions.text()).trim().split("\n")).toHaveLength(601);
    for (let i = 1; i < jobs.length; i++) {
      expect(Date.parse(jobs[i]?.started_at as string)).toBeGreaterThanOrEqual(
        Date.parse(jobs[i - 1]?.finished_at as string),
      );
    }
    expect(seen.at(-1)?.status).toBe("COMPLETED");
  });

  it("skips a step whose condition cannot hold, and the steps below it, and still completes", async () => {
    const id = await submitWorkflow(client, pipeline(1.01));
    const done = await waitForWorkflow(client, id);
    expect(done.status).toBe("COMPLETED");
    expect(stepStates(done)).toEqual({
      train: "COMPLETED",
      evaluate: "COMPLETED",
      predict: "SKIPPED",
      publish: "SKIPPED",
    });
    const predict = done.steps.find((s) => s.step_id === "predict");
    expect(predict?.job_id).toBeNull();
    expect(predict?.error).toMatch(/^condition accuracy >= 1.01 on step evaluate does not hold/);
  });

  it("runs seed 001's workflow example as written, once its raw_data.csv is uploaded", async () => {
    // Its body as written, its templates named after templates that exist here.
    const example = {
      workflow_name: "complete_ml_pipeline",
      description: "End-to-end ML pipeline",
      steps: [
        {
          step_id: "data_preparation",
          job_template: "logistic_regression",
          parameters: { dataset: "raw_data.csv" },
        },
        {
          step_id: "model_training",
          job_template: "hyperparameter_tuning",
          depends_on: ["data_preparation"],
          parameters: { algorithm: "random_forest" },
        },
        {
          step_id: "model_evaluation",
          job_template: "random_forest",
          depends_on: ["model_training"],
          parameters: { test_split: 0.2 },
        },
      ],
    };
    const post = () =>
      fetch(`${base}/api/v1/workflows`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(example),
      });
    const early = await post();
    expect(early.status).toBe(400);
    const refusal = (await early.json()) as { errors: { path: string; message: string }[] };
    expect(refusal.errors).toEqual([
      expect.objectContaining({
        path: "/steps/0/parameters/dataset",
        message: expect.stringContaining("raw_data.csv"),
      }),
    ]);

    expect((await uploadCsv(base, "raw_data.csv", flowersCsv(300))).status).toBe(201);
    const accepted = await post();
    expect(accepted.status).toBe(202);
    const id = ((await accepted.json()) as { workflow_id: string }).workflow_id;
    const done = await waitForWorkflow(client, id);
    expect(done.status).toBe("COMPLETED");
    const [prepared, , evaluated] = await Promise.all(
      done.steps.map((s) => getJob(client, s.job_id as string)),
    );
    expect(prepared?.spec).toMatchObject({ dataset: { dataset_id: "raw_data.csv" } });
    expect(evaluated?.spec).toMatchObject({ dataset: { test_fraction: 0.2 } });
  });

  it("fails on a failing step: the steps below it are not run, a sibling branch finishes", async () => {
    const id = await submitWorkflow(client, {
      workflow_name: "one_branch_fails",
      steps: [
        { step_id: "doomed", job: longSpec({ tasks: 1, timeout_s: 1 }) },
        { step_id: "below", job: quickSpec(), depends_on: ["doomed"] },
        { step_id: "sibling", job: quickSpec({ epochs: 4 }) },
        { step_id: "after_sibling", job: quickSpec(), depends_on: ["sibling"] },
      ],
    });
    const done = await waitForWorkflow(client, id);
    expect(done.status).toBe("FAILED");
    expect(done.error).toMatch(/^step doomed ended TIMEOUT/);
    expect(stepStates(done)).toMatchObject({
      doomed: "TIMEOUT",
      below: "CANCELLED",
      sibling: "COMPLETED",
      after_sibling: "COMPLETED",
    });
    const below = done.steps.find((s) => s.step_id === "below");
    if (below?.job_id) expect((await getJob(client, below.job_id)).started_at).toBeNull();
  });

  it("completes a fan-out/fan-in of 200 steps, the sink after all 198 middle steps", async () => {
    const tiny = quickSpec({
      tasks: 1,
      epochs: 1,
      dataset: { samples: 100, features: 2, seed: 1 },
    });
    const middle = Array.from({ length: 198 }, (_, i) => ({
      step_id: `m${i}`,
      job: tiny,
      depends_on: ["root"],
    }));
    const id = await submitWorkflow(client, {
      workflow_name: "fan_out_fan_in",
      steps: [
        { step_id: "root", job: tiny },
        ...middle,
        { step_id: "sink", job: tiny, depends_on: middle.map((m) => m.step_id) },
      ],
    });
    const done = await waitForWorkflow(client, id);
    expect(done.status).toBe("COMPLETED");
    expect(done.steps.filter((s) => s.status === "COMPLETED")).toHaveLength(200);
    expect(new Set(done.steps.map((s) => s.job_id)).size).toBe(200);
    const sink = await getJob(client, done.steps.at(-1)?.job_id as string);
    const middles = await Promise.all(
      done.steps.slice(1, -1).map((s) => getJob(client, s.job_id as string)),
    );
    const lastMiddle = Math.max(...middles.map((j) => Date.parse(j.finished_at as string)));
    expect(Date.parse(sink.started_at as string)).toBeGreaterThanOrEqual(lastMiddle);
  }, 120_000);

  it("cancels its running and waiting step jobs when cancelled", async () => {
    const id = await submitWorkflow(client, {
      workflow_name: "cancel_me",
      steps: [
        { step_id: "long", job: longSpec({ tasks: 1 }) },
        { step_id: "next", job: quickSpec(), depends_on: ["long"] },
      ],
    });
    await waitForWorkflow(client, id, 20_000, (w) => w.steps.every((s) => s.job_id !== null));
    const reply = await client.request<{ status: string }>("troupe.workflows.cancel", {
      workflow_id: id,
    });
    expect(reply.body.status).toBe("CANCELLED");
    const done = await waitForWorkflow(client, id, 20_000, (w) =>
      w.steps.every((s) => s.status === "CANCELLED"),
    );
    for (const step of done.steps) {
      expect((await getJob(client, step.job_id as string)).status).toBe("CANCELLED");
    }
    const again = await client.request("troupe.workflows.cancel", { workflow_id: id });
    expect(again.serviceErrorCode).toBe("409");
  });

  it("refuses at submit a cycle, an unknown step, a condition on an unknown step or metric, a bad job, naming each", async () => {
    const refused = async (steps: unknown[]) => {
      const reply = await client.request<{
        error: { errors: { path: string; message: string }[] };
      }>("troupe.workflows.submit", { workflow_name: "bad", steps });
      expect(reply.serviceErrorCode).toBe("400");
      return reply.body.error.errors;
    };
    expect(
      await refused([
        { step_id: "a", job: quickSpec(), depends_on: ["c"] },
        { step_id: "b", job: quickSpec(), depends_on: ["a"] },
        { step_id: "c", job: quickSpec(), depends_on: ["b"] },
      ]),
    ).toEqual([{ path: "/steps/0/depends_on", message: "dependency cycle: a → c → b → a" }]);
    expect(await refused([{ step_id: "a", job: quickSpec(), depends_on: ["nope"] }])).toEqual([
      { path: "/steps/0/depends_on/0", message: "no step 'nope'" },
    ]);
    const cond = (condition: unknown) => [
      { step_id: "a", job: quickSpec() },
      { step_id: "b", job: quickSpec(), depends_on: ["a"], condition },
    ];
    expect(await refused(cond({ step: "zz", metric: "accuracy", op: ">=", value: 1 }))).toEqual([
      { path: "/steps/1/condition/step", message: "no step 'zz'" },
    ]);
    const metric = await refused(cond({ step: "a", metric: "f1", op: ">=", value: 1 }));
    expect(metric[0]?.path).toBe("/steps/1/condition/metric");
    expect(metric[0]?.message).toContain("accuracy");
    expect(await refused([{ step_id: "a", job: quickSpec({ epochs: 0 }) }])).toEqual([
      expect.objectContaining({ path: "/steps/0/job/epochs" }),
    ]);
    const missing = await client.request("troupe.workflows.get", {
      workflow_id: "wf_000000000zzzzzzzzzz",
    });
    expect(missing.serviceErrorCode).toBe("404");
    expect((await getWorkflow(client, "nope").catch(() => undefined))?.status).toBeUndefined();
  });
});
