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

const ParameterDescriptorSchema = Type.Object({
  name: Type.String(),
  type: Type.String(),
  required: Type.Boolean(),
  options: Type.Optional(Type.Array(Type.Unknown())),
  default: Type.Optional(Type.Unknown()),
  minimum: Type.Optional(Type.Number()),
  maximum: Type.Optional(Type.Number()),
  description: Type.Optional(Type.String()),
});

const AnyObject = (description: string) =>
  Type.Object({}, { additionalProperties: true, description });

export const TemplateViewSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  category: Type.String(),
  base_template: Nullable(Type.String()),
  default_parameters: AnyObject("Seed 001's parameters it sets."),
  resource_requirements: AnyObject("The resources it sets."),
  job: AnyObject("The other job spec fields it sets."),
  custom_parameters: AnyObject("Kept for its users."),
  built_in: Type.Boolean({ description: "Built in: present on every cluster, not deletable." }),
  created_at: Nullable(Type.String()),
  parameters: Type.Array(ParameterDescriptorSchema, {
    description: "What it takes, generated from the job schema (its chain's defaults filled in).",
  }),
});

export const TemplateListSchema = Type.Object({ templates: Type.Array(TemplateViewSchema) });

export const TemplateIdParamsSchema = Type.Object(
  { id: Type.String({ pattern: "^[A-Za-z0-9_-]{1,64}$" }) },
  { additionalProperties: false },
);

export const TemplateDeletedSchema = Type.Object({ deleted: Type.String() });
