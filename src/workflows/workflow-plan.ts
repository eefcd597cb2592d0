import { evaluateCondition } from "./workflow-conditions.ts";
import { topologicalOrder } from "./workflow-graph.ts";
import { isTerminalStepState, type StepRecord, type StepState } from "./workflow-record.ts";

export type StepAction =
  /** Submit the step's job now (waiting, through depends_on, on its upstream jobs). */
  | { kind: "submit"; step_id: string }
  /** Its condition does not hold, or a step it needs was skipped. */
  | { kind: "skip"; step_id: string; reason: string }
  /** A step it needs ended without completing: it is never run (CANCELLED, no job). */
  | { kind: "not-run"; step_id: string; reason: string };

export interface WorkflowPlan {
  actions: StepAction[];
  /** Set once every step has ended (counting this plan's skips). */
  outcome?: { status: "COMPLETED" | "FAILED"; error: string | null };
}

const BROKEN = new Set<StepState>(["FAILED", "CANCELLED", "TIMEOUT"]);

/**
 * What a workflow's driver does next, from its steps' states (pure). A step's job is submitted as
 * soon as every step it depends on has a job — it then waits as a job (WAITING), so it is queued
 * within one event of its last upstream job completing — unless it has a condition, which is
 * decided once the condition's step has COMPLETED. A step below a skipped step is skipped; a
 * step below a failed one is never run. The workflow ends when every step has: FAILED naming
 * the first step (upstream first) that failed, else COMPLETED. A step using an upstream step's
 * model (`model_from`) is submitted once that step has completed, like a condition's.
 */
export function planWorkflow(steps: readonly StepRecord[]): WorkflowPlan {
  const byId = new Map(steps.map((s) => [s.step_id, { ...s }]));
  const actions: StepAction[] = [];
  const order = topologicalOrder(steps);
  for (const id of order) {
    const step = byId.get(id) as StepRecord;
    if (step.status !== "PENDING") continue;
    const needs = step.depends_on.map((d) => byId.get(d) as StepRecord);
    const skipped = needs.find((n) => n.status === "SKIPPED");
    const broken = needs.find((n) => BROKEN.has(n.status));
    if (skipped) {
      step.status = "SKIPPED";
      actions.push({
        kind: "skip",
        step_id: id,
        reason: `needs step ${skipped.step_id}, which was skipped`,
      });
      continue;
    }
    if (broken) {
      step.status = "CANCELLED";
      actions.push({
        kind: "not-run",
        step_id: id,
        reason: `not run: step ${broken.step_id} ended ${broken.status}`,
      });
      continue;
    }
    if (needs.some((n) => n.job_id === null)) continue;
    if (step.model_from !== null) {
      // Its model exists once that step's job has completed: an evaluate or predict job naming
      // a model not there yet is refused at submit.
      const from = byId.get(step.model_from) as StepRecord;
      if (from.status === "SKIPPED" || BROKEN.has(from.status)) {
        step.status = from.status === "SKIPPED" ? "SKIPPED" : "CANCELLED";
        const reason = `its model's step ${from.step_id} ${from.status === "SKIPPED" ? "was skipped" : `ended ${from.status}`}`;
        actions.push(
          from.status === "SKIPPED"
            ? { kind: "skip", step_id: id, reason }
            : { kind: "not-run", step_id: id, reason: `not run: ${reason}` },
        );
        continue;
      }
      if (from.status !== "COMPLETED") continue;
    }
    if (step.condition) {
      const on = byId.get(step.condition.step) as StepRecord;
      if (BROKEN.has(on.status)) {
        step.status = "CANCELLED";
        actions.push({
          kind: "not-run",
          step_id: id,
          reason: `not run: step ${on.step_id} ended ${on.status}`,
        });
        continue;
      }
      if (on.status !== "COMPLETED") continue;
      const verdict = evaluateCondition(step.condition, on.metrics);
      if (!verdict.holds) {
        step.status = "SKIPPED";
        actions.push({ kind: "skip", step_id: id, reason: verdict.reason });
        continue;
      }
    }
    actions.push({ kind: "submit", step_id: id });
  }
  const all = [...byId.values()];
  if (
    actions.some((a) => a.kind === "submit") ||
    !all.every((s) => isTerminalStepState(s.status))
  ) {
    return { actions };
  }
  const failed =
    order
      .map((id) => byId.get(id) as StepRecord)
      .find((s) => s.status === "FAILED" || s.status === "TIMEOUT") ??
    order.map((id) => byId.get(id) as StepRecord).find((s) => s.status === "CANCELLED");
  if (!failed) return { actions, outcome: { status: "COMPLETED", error: null } };
  const why = failed.error ? `: ${failed.error}` : "";
  return {
    actions,
    outcome: { status: "FAILED", error: `step ${failed.step_id} ended ${failed.status}${why}` },
  };
}
