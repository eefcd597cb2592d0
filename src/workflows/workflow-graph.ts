import type { FieldProblem } from "../errors.ts";
import type { Condition } from "./workflow-conditions.ts";

/** What the graph checks look at in a step. */
export interface StepLinks {
  step_id: string;
  depends_on: readonly string[];
  condition: Condition | null;
  model_from: string | null;
}

/**
 * The problems of a workflow's step graph, each naming its field: a step id given twice, a
 * dependency on an unknown step, a cycle (as a path), and a condition or model on a step that is
 * not upstream (it would not have ended when the step is decided). Pure.
 */
export function graphProblems(steps: readonly StepLinks[]): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const index = new Map<string, number>();
  steps.forEach((step, i) => {
    if (index.has(step.step_id)) {
      problems.push({
        path: `/steps/${i}/step_id`,
        message: `step '${step.step_id}' is given twice`,
      });
    } else index.set(step.step_id, i);
  });
  steps.forEach((step, i) => {
    step.depends_on.forEach((id, j) => {
      if (!index.has(id)) {
        problems.push({ path: `/steps/${i}/depends_on/${j}`, message: `no step '${id}'` });
      } else if (id === step.step_id) {
        problems.push({
          path: `/steps/${i}/depends_on/${j}`,
          message: "a step cannot depend on itself",
        });
      }
    });
  });
  if (problems.length > 0) return problems;
  const cycle = findCycle(steps);
  if (cycle) {
    const at = index.get(cycle[0] as string) as number;
    return [{ path: `/steps/${at}/depends_on`, message: `dependency cycle: ${cycle.join(" → ")}` }];
  }
  const byId = new Map(steps.map((s) => [s.step_id, s]));
  steps.forEach((step, i) => {
    const upstream = ancestors(step.step_id, byId);
    const check = (id: string | undefined, path: string, what: string) => {
      if (id === undefined) return;
      if (!byId.has(id)) problems.push({ path, message: `no step '${id}'` });
      else if (!upstream.has(id)) {
        problems.push({
          path,
          message: `${what} step '${id}' is not upstream of '${step.step_id}': add it to depends_on (at any depth)`,
        });
      }
    };
    check(step.condition?.step, `/steps/${i}/condition/step`, "condition on");
    check(step.model_from ?? undefined, `/steps/${i}/model/from_step`, "model from");
  });
  return problems;
}

/** Every step `id` depends on, directly or not. */
export function ancestors(id: string, byId: ReadonlyMap<string, StepLinks>): Set<string> {
  const seen = new Set<string>();
  const stack = [...(byId.get(id)?.depends_on ?? [])];
  while (stack.length > 0) {
    const next = stack.pop() as string;
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...(byId.get(next)?.depends_on ?? []));
  }
  return seen;
}

/** A cycle as a path (`a → b → a`), or undefined: depth-first with colours. */
function findCycle(steps: readonly StepLinks[]): string[] | undefined {
  const byId = new Map(steps.map((s) => [s.step_id, s]));
  const colour = new Map<string, "grey" | "black">();
  const path: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (colour.get(id) === "black") return undefined;
    if (colour.get(id) === "grey") return [...path.slice(path.indexOf(id)), id];
    colour.set(id, "grey");
    path.push(id);
    for (const next of byId.get(id)?.depends_on ?? []) {
      const found = visit(next);
      if (found) return found;
    }
    path.pop();
    colour.set(id, "black");
    return undefined;
  };
  for (const step of steps) {
    const found = visit(step.step_id);
    if (found) return found;
  }
  return undefined;
}

/** Step ids in an order where every step comes after those it depends on (the graph is acyclic). */
export function topologicalOrder(steps: readonly StepLinks[]): string[] {
  const byId = new Map(steps.map((s) => [s.step_id, s]));
  const done = new Set<string>();
  const order: string[] = [];
  const visit = (id: string) => {
    if (done.has(id)) return;
    done.add(id);
    for (const next of byId.get(id)?.depends_on ?? []) visit(next);
    order.push(id);
  };
  for (const step of steps) visit(step.step_id);
  return order;
}
