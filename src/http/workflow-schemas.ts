/** The HTTP facade's workflow and template schemas (responses, for serialization and OpenAPI). */
import Type from "typebox";
import { ConditionSchema } from "../workflows/workflow-conditions.ts";
import { STEP_STATES, WORKFLOW_STATES } from "../workflows/workflow-record.ts";

const Nullable = <T extends Type.TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const WorkflowIdParamsSchema = Type.Object(
  { id: Type.String({ pattern: "^wf_[0-9a-z]{19}$" }) },
  { additionalProperties: false },
);

export const WorkflowSubmitReplySchema = Type.Object({
  workflow_id: Type.String(),
  status: Type.String(),
  total_steps: Type.Integer(),
  message: Type.String(),
});

const StepRecordSchema = Type.Object({
  step_id: Type.String(),
  depends_on: Type.Array(Type.String()),
  condition: Nullable(ConditionSchema),
  model_from: Nullable(Type.String()),
  job: Type.Object({}, { additionalProperties: true, description: "The step's job body." }),
  status: Type.Enum([...STEP_STATES], {
    description: "PENDING until its job is submitted, then its job's state; or SKIPPED.",
  }),
  job_id: Nullable(Type.String()),
  error: Nullable(Type.String()),
  metrics: Nullable(Type.Object({}, { additionalProperties: Nullable(Type.Number()) })),
});

export const WorkflowRecordSchema = Type.Object({
  workflow_id: Type.String(),
  workflow_name: Type.String(),
  description: Type.String(),
  status: Type.Enum([...WORKFLOW_STATES]),
  user_id: Type.String(),
  error: Nullable(Type.String()),
  created_at: Type.String(),
  finished_at: Nullable(Type.String()),
  driver: Nullable(
    Type.Object(
      { worker_id: Type.String(), pid: Type.Integer() },
      { description: "The process driving it (holding its lease)." },
    ),
  ),
  metadata: Type.Optional(Type.Object({}, { additionalProperties: true })),
  steps: Type.Array(StepRecordSchema),
});

export const WorkflowListSchema = Type.Object({
  workflows: Type.Array(WorkflowRecordSchema),
  next_cursor: Nullable(Type.String()),
});
