import { beforeAll, describe, expect, it } from "vitest";
import { type ApiClient, apiClient } from "../support/api-client.ts";
import { getJob, longSpec, quickSpec } from "../support/jobs.ts";
import { startNats } from "../support/nats.ts";
import { startTroupes } from "../support/troupe-process.ts";
import { getWorkflow, stepStates, submitWorkflow, waitForWorkflow } from "../support/workflows.ts";

let client: ApiClient;

beforeAll(async () => {
  const nats = await startNats();
  await startTroupes(1, nats.url, { MAX_CONCURRENT_TASKS: "3" });
  client = await apiClient(nats.url);
}, 60_000);

// Iris is easy: logistic regression reaches an accuracy well past 0.8 on it.
const iris = (overrides: Record<string, unknown> = {}) =>
  quickSpec({ dataset: { dataset_id: "iris" }, epochs: 20, ...overrides });

/** train → evaluate → predict → publish, predict gated on evaluate's accuracy. */
function pipeline(threshold: number) {
  return {
    workflow_name: "gated_pipeline",
    description: "train, evaluate, predict if good enough",
    steps: [
      { step_id: "train", job: iris() },
      { step_id: "evaluate", job: iris({ tasks: 1 }), depends_on: ["train"] },
      {
        step_id: "predict",
        job: iris({ tasks: 1 }),
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
