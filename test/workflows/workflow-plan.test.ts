import { describe, expect, it } from "vitest";
import { evaluateCondition } from "../../src/workflows/workflow-conditions.ts";
import { graphProblems, type StepLinks } from "../../src/workflows/workflow-graph.ts";
import { planWorkflow } from "../../src/workflows/workflow-plan.ts";
import type { StepRecord, StepState } from "../../src/workflows/workflow-record.ts";
import { parseWorkflow, stepJobBody } from "../../src/workflows/workflow-spec.ts";

function step(step_id: string, status: StepState, more: Partial<StepRecord> = {}): StepRecord {
  return {
    step_id,
    depends_on: [],
    condition: null,
    model_from: null,
    job: { model_type: "logistic_regression" },
    status,
    job_id: status === "PENDING" || status === "SKIPPED" ? null : `job_${step_id}`,
    error: null,
    metrics: null,
    ...more,
  };
}

const gate = { step: "evaluate", metric: "accuracy" as const, op: ">=" as const, value: 0.8 };

describe("planning a workflow", () => {
  it("submits a step as soon as every step it needs has a job, before they complete", () => {
    const plan = planWorkflow([
      step("train", "RUNNING"),
      step("evaluate", "PENDING", { depends_on: ["train"] }),
      step("report", "PENDING", { depends_on: ["evaluate"] }),
    ]);
    expect(plan).toEqual({ actions: [{ kind: "submit", step_id: "evaluate" }] });
  });

  it("decides a condition once its step completed: submit if it holds, skip it and what needs it if not", () => {
    const steps = (accuracy: number) => [
      step("evaluate", "COMPLETED", { metrics: { accuracy, loss: 0.3 } }),
      step("predict", "PENDING", { depends_on: ["evaluate"], condition: gate }),
      step("publish", "PENDING", { depends_on: ["predict"] }),
    ];
    expect(planWorkflow(steps(0.9)).actions).toEqual([{ kind: "submit", step_id: "predict" }]);
    const skipped = planWorkflow(steps(0.7));
    expect(skipped.actions).toEqual([
      {
        kind: "skip",
        step_id: "predict",
        reason: "condition accuracy >= 0.8 on step evaluate does not hold (accuracy = 0.7)",
      },
      { kind: "skip", step_id: "publish", reason: "needs step predict, which was skipped" },
    ]);
    expect(skipped.outcome).toEqual({ status: "COMPLETED", error: null });
    const waiting = planWorkflow([step("evaluate", "RUNNING"), ...steps(0).slice(1)]);
    expect(waiting).toEqual({ actions: [] });
  });

  it("submits a step using an upstream model only once that step completed", () => {
    const steps = (train: StepState) => [
      step("train", train),
      step("evaluate", "SUBMITTED"),
      step("predict", "PENDING", { depends_on: ["evaluate"], model_from: "train" }),
    ];
    expect(planWorkflow(steps("RUNNING")).actions).toEqual([]);
    expect(planWorkflow(steps("COMPLETED")).actions).toEqual([
      { kind: "submit", step_id: "predict" },
    ]);
    expect(planWorkflow(steps("FAILED")).actions).toEqual([
      {
        kind: "not-run",
        step_id: "predict",
        reason: "not run: its model's step train ended FAILED",
      },
    ]);
  });

  it("never runs a step below a failed one, and fails naming the first failure once all ended", () => {
    const running = planWorkflow([
      step("a", "FAILED", { error: "task 0 failed" }),
      step("b", "PENDING", { depends_on: ["a"] }),
      step("sibling", "RUNNING"),
    ]);
    expect(running.actions).toEqual([
      { kind: "not-run", step_id: "b", reason: "not run: step a ended FAILED" },
    ]);
    expect(running.outcome).toBeUndefined();
    const ended = planWorkflow([
      step("a", "FAILED", { error: "task 0 failed" }),
      step("b", "CANCELLED", { depends_on: ["a"] }),
      step("sibling", "COMPLETED"),
    ]);
    expect(ended.outcome).toEqual({
      status: "FAILED",
      error: "step a ended FAILED: task 0 failed",
    });
  });

  it("treats an unknown metric as a condition that does not hold", () => {
    expect(evaluateCondition(gate, { accuracy: null })).toEqual({
      holds: false,
      reason: "condition accuracy >= 0.8 on step evaluate: the metric is unknown",
    });
    expect(evaluateCondition({ ...gate, op: "<", metric: "loss" }, { loss: 0.5 })).toEqual({
      holds: true,
    });
  });
});

describe("a workflow's graph", () => {
  const links = (step_id: string, depends_on: string[], more: Partial<StepLinks> = {}) => ({
    step_id,
    depends_on,
    condition: null,
    model_from: null,
    ...more,
  });

  it("refuses a duplicate step, a condition or a model from a step that is not upstream", () => {
    expect(
      graphProblems([
        links("a", []),
        links("a", []),
        links("b", [], { condition: { ...gate, step: "a" } }),
        links("c", ["b"], { model_from: "a" }),
      ]),
    ).toEqual([{ path: "/steps/1/step_id", message: "step 'a' is given twice" }]);
    expect(
      graphProblems([
        links("a", []),
        links("b", [], { condition: { ...gate, step: "a" } }),
        links("c", ["b"], { model_from: "a" }),
      ]),
    ).toEqual([
      {
        path: "/steps/1/condition/step",
        message:
          "condition on step 'a' is not upstream of 'b': add it to depends_on (at any depth)",
      },
      {
        path: "/steps/2/model/from_step",
        message: "model from step 'a' is not upstream of 'c': add it to depends_on (at any depth)",
      },
    ]);
  });
});

describe("a step's job body", () => {
  it("waits on its upstream jobs, takes its model from the named step's job, and is idempotent per step", () => {
    const body = stepJobBody(
      { workflow_id: "wf_1", workflow_name: "pipe", user_id: "alice" },
      step("predict", "PENDING", {
        depends_on: ["evaluate"],
        model_from: "train",
        job: { task_type: "predict", model: { from_step: "train" }, model_type: "svm" },
      }),
      new Map([
        ["train", "job_train"],
        ["evaluate", "job_evaluate"],
      ]),
    );
    expect(body).toEqual({
      task_type: "predict",
      model_type: "svm",
      model: { job_id: "job_train" },
      depends_on: ["job_evaluate"],
      name: "pipe/predict",
      user_id: "alice",
      idempotency_key: "wf_1/predict",
    });
  });
});

describe("a workflow's steps checked at submit", () => {
  it("checks a step using an upstream model without it (not there yet), with its model type", async () => {
    const checked: Record<string, unknown>[] = [];
    await parseWorkflow(
      {
        workflow_name: "tep",
        steps: [
          { step_id: "train", job: { model_type: "svm" } },
          {
            step_id: "evaluate",
            depends_on: ["train"],
            job: { task_type: "evaluate", model: { from_step: "train" } },
          },
        ],
      },
      async (body) => {
        checked.push(body);
        return [];
      },
      new Date(0),
    );
    expect(checked[1]).toMatchObject({
      model_type: "svm",
      depends_on: ["job_0000000000000000000"],
    });
    expect(checked[1]).not.toHaveProperty("model");
    expect(checked[1]).not.toHaveProperty("task_type");
  });
});
