import Type, { type Static } from "typebox";

/**
 * Conditions are data, never code (DESIGN §5.2): a comparison of an upstream step's metric with
 * a number. The metrics are those of a job record (`metrics`).
 */
export const CONDITION_METRICS = ["accuracy", "loss"] as const;
export const CONDITION_OPS = [">=", ">", "<=", "<", "==", "!="] as const;

export const ConditionSchema = Type.Object(
  {
    step: Type.String({
      description: "An upstream step (one this step depends on, at any depth).",
    }),
    metric: Type.Enum([...CONDITION_METRICS], { description: "The upstream job's metric." }),
    op: Type.Enum([...CONDITION_OPS]),
    value: Type.Number(),
  },
  {
    additionalProperties: false,
    description:
      "Run this step only if the upstream step's metric compares so; otherwise it is SKIPPED, and so are the steps that need it.",
    examples: [{ step: "evaluate", metric: "accuracy", op: ">=", value: 0.9 }],
  },
);
export type Condition = Static<typeof ConditionSchema>;

/** Whether the condition holds on `metrics`, and in words why not. */
export function evaluateCondition(
  condition: Condition,
  metrics: Readonly<Record<string, number | null>> | null,
): { holds: true } | { holds: false; reason: string } {
  const { step, metric, op, value } = condition;
  const actual = metrics?.[metric];
  const written = `${metric} ${op} ${value} on step ${step}`;
  if (actual === null || actual === undefined) {
    return { holds: false, reason: `condition ${written}: the metric is unknown` };
  }
  if (compare(actual, op, value)) return { holds: true };
  return { holds: false, reason: `condition ${written} does not hold (${metric} = ${actual})` };
}

function compare(actual: number, op: Condition["op"], value: number): boolean {
  switch (op) {
    case ">=":
      return actual >= value;
    case ">":
      return actual > value;
    case "<=":
      return actual <= value;
    case "<":
      return actual < value;
    case "==":
      return actual === value;
    case "!=":
      return actual !== value;
  }
}
