import Type, { type Static } from "typebox";
import { type FieldProblem, InvalidRequestError } from "../errors.ts";
import { PrioritySchema } from "../jobs/job-spec.ts";
import { schemaProblems } from "../validation.ts";
import { ConditionSchema } from "./workflow-conditions.ts";
import { graphProblems } from "./workflow-graph.ts";
import { newWorkflowId, type StepRecord, type WorkflowRecord } from "./workflow-record.ts";

const TOKEN = "^[A-Za-z0-9_-]{1,64}$";
/** Most steps a workflow may have. */
export const MAX_WORKFLOW_STEPS = 1000;
/** A job id in a step's body while it is checked at submit (the real one exists only later). */
const PLACEHOLDER_JOB_ID = "job_0000000000000000000";

export const StepSchema = Type.Object(
  {
    step_id: Type.String({ pattern: TOKEN, description: "Unique within the workflow." }),
    job_template: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: "A template's id (seed 001's name).",
      }),
    ),
    template: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: "= job_template." }),
    ),
    job: Type.Optional(
      Type.Object(
        {},
        { additionalProperties: true, description: "An inline job spec instead of a template." },
      ),
    ),
    parameters: Type.Optional(
      Type.Object(
        {},
        {
          additionalProperties: true,
          description: "The template's parameters (with an inline job: its seed-001 parameters).",
        },
      ),
    ),
    depends_on: Type.Optional(
      Type.Array(Type.String(), {
        maxItems: MAX_WORKFLOW_STEPS,
        description: "Step ids that must complete first.",
      }),
    ),
    condition: Type.Optional(ConditionSchema),
    model: Type.Optional(
      Type.Object(
        {
          from_step: Type.String({
            description: "An upstream step whose trained model this step's job uses.",
          }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

/** `POST /api/v1/workflows` and `troupe.workflows.submit` (seed 001's shape). */
export const WorkflowSubmitSchema = Type.Object(
  {
    workflow_name: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    user_id: Type.Optional(
      Type.String({ pattern: TOKEN, description: "Default user_id of its jobs." }),
    ),
    priority: Type.Optional(PrioritySchema),
    steps: Type.Array(StepSchema, { minItems: 1, maxItems: MAX_WORKFLOW_STEPS }),
  },
  {
    additionalProperties: false,
    examples: [
      {
        workflow_name: "train_then_predict",
        steps: [
          { step_id: "train", job: { model_type: "logistic_regression", epochs: 5 } },
          {
            step_id: "second",
            job_template: "random_forest",
            depends_on: ["train"],
            condition: { step: "train", metric: "accuracy", op: ">=", value: 0.8 },
          },
        ],
      },
    ],
  },
);
export type WorkflowSubmit = Static<typeof WorkflowSubmitSchema>;
type Step = Static<typeof StepSchema>;

/** Checks a decoded job body as a submit would: templates merged, the one job schema. */
export type JobBodyCheck = (body: Record<string, unknown>) => Promise<FieldProblem[]>;

/**
 * Validates a workflow and builds its record: the envelope, the step graph (workflow-graph.ts),
 * and each step's job as it will be submitted (with stand-in ids), all problems at once, each
 * named by its path (`/steps/2/job/epochs`).
 */
export async function parseWorkflow(
  body: unknown,
  checkJob: JobBodyCheck,
  now: Date,
  metadata?: Record<string, unknown>,
): Promise<WorkflowRecord> {
  const problems = schemaProblems(WorkflowSubmitSchema, body);
  if (problems.length > 0) throw new InvalidRequestError("workflow", problems);
  const input = body as WorkflowSubmit;
  input.steps.forEach((step, i) => {
    const sources = [step.job, step.job_template, step.template].filter((s) => s !== undefined);
    if (sources.length !== 1) {
      problems.push({
        path: `/steps/${i}`,
        message: "needs exactly one of job, job_template (or template)",
      });
    }
  });
  const steps = input.steps.map(stepRecord);
  problems.push(...graphProblems(steps));
  if (problems.length > 0) throw new InvalidRequestError("workflow", problems);
  const record: WorkflowRecord = {
    workflow_id: newWorkflowId(now.getTime()),
    workflow_name: input.workflow_name,
    description: input.description ?? "",
    status: "RUNNING",
    user_id: input.user_id ?? "anonymous",
    error: null,
    created_at: now.toISOString(),
    finished_at: null,
    driver: null,
    ...(metadata ? { metadata } : {}),
    steps,
  };
  const placeholders = new Map(steps.map((s) => [s.step_id, PLACEHOLDER_JOB_ID]));
  const byId = new Map(steps.map((s) => [s.step_id, s]));
  const checks = await Promise.all(
    steps.map((step) => {
      const body = checkedBody(stepJobBody(record, step, placeholders, input.priority), step, byId);
      return body ? checkJob(body) : Promise.resolve([]);
    }),
  );
  checks.forEach((found, i) => {
    const inline = input.steps[i]?.job !== undefined;
    for (const p of found) problems.push({ ...p, path: stepPath(i, inline, p.path) });
  });
  if (problems.length > 0) throw new InvalidRequestError("workflow", problems);
  if (input.priority)
    record.steps.forEach((s) => {
      s.job.priority ??= input.priority;
    });
  return record;
}

/**
 * What is checked of a step's job at submit. A step using an upstream model names a job that has
 * no model yet (its model is checked when the step is submitted): its job is checked without
 * `model` and `task_type`, with the upstream step's model_type when it names none; undefined when
 * that is not known before the upstream step has run (its template decides it).
 */
function checkedBody(
  body: Record<string, unknown>,
  step: StepRecord,
  byId: ReadonlyMap<string, StepRecord>,
): Record<string, unknown> | undefined {
  if (step.model_from === null) return body;
  const { model: _model, task_type: _taskType, ...rest } = body;
  if (rest.model_type !== undefined) return rest;
  const upstream = byId.get(step.model_from)?.job;
  const modelType =
    upstream?.model_type ??
    (upstream?.parameters as { algorithm?: unknown } | undefined)?.algorithm;
  return modelType === undefined ? undefined : { ...rest, model_type: modelType };
}

/** Where a problem of a step's job body is in the workflow as written. */
function stepPath(index: number, inline: boolean, path: string): string {
  if (inline) return `/steps/${index}/job${path}`;
  return path === "/template" ? `/steps/${index}/job_template` : `/steps/${index}${path}`;
}

function stepRecord(step: Step): StepRecord {
  const inline = step.job as Record<string, unknown> | undefined;
  const job: Record<string, unknown> =
    inline === undefined
      ? { template: step.job_template ?? step.template, parameters: step.parameters ?? {} }
      : step.parameters
        ? { ...inline, parameters: { ...(inline.parameters as object), ...step.parameters } }
        : { ...inline };
  return {
    step_id: step.step_id,
    depends_on: [...new Set(step.depends_on ?? [])],
    condition: step.condition ?? null,
    model_from: step.model?.from_step ?? modelFromJob(inline) ?? null,
    job,
    status: "PENDING",
    job_id: null,
    error: null,
    metrics: null,
  };
}

/** An inline job may name its model's step too: `"job": {"model": {"from_step": "train"}}`. */
function modelFromJob(job: Record<string, unknown> | undefined): string | undefined {
  const model = job?.model as { from_step?: unknown } | undefined;
  return typeof model?.from_step === "string" ? model.from_step : undefined;
}

/**
 * The body submitted for a step's job: its job (or template and parameters), named after the
 * workflow and step unless it names itself, its user the workflow's, waiting on its upstream
 * steps' jobs, its model the `from_step`'s job (`"model": {"job_id": …}`, DESIGN §5.1), and
 * idempotent by `<workflow_id>/<step_id>`, so a driver that takes over never submits it twice.
 */
export function stepJobBody(
  workflow: Pick<WorkflowRecord, "workflow_id" | "workflow_name" | "user_id">,
  step: StepRecord,
  jobIds: ReadonlyMap<string, string>,
  priority?: string,
): Record<string, unknown> {
  const body: Record<string, unknown> = { ...step.job };
  const upstream = step.depends_on.map((id) => jobIds.get(id) as string);
  const own = Array.isArray(body.depends_on) ? (body.depends_on as string[]) : [];
  if (upstream.length + own.length > 0) body.depends_on = [...own, ...upstream];
  if (step.model_from !== null) {
    const { from_step: _from, ...model } =
      (body.model as Record<string, unknown> | undefined) ?? {};
    body.model = { ...model, job_id: jobIds.get(step.model_from) };
  }
  body.name ??= `${workflow.workflow_name}/${step.step_id}`.slice(0, 200);
  body.user_id ??= workflow.user_id;
  if (priority !== undefined) body.priority ??= priority;
  body.idempotency_key = `${workflow.workflow_id}/${step.step_id}`;
  return body;
}
