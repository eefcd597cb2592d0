/**
 * The HTTP facade's schemas. Requests reuse the gateway's own definitions (one schema, every door);
 * responses are described here once, for serialization (fast-json-stringify writes exactly these
 * fields) and for OpenAPI.
 */
import Type from "typebox";
import { HYPERPARAMETER_ALIASES } from "../contract/aliases.ts";
import { PRIORITIES } from "../contract/priorities.ts";
import { JobIdQuerySchema, ListQuerySchema, WorkerIdQuerySchema } from "../jobs/gateway.ts";
import { type JobSpecInput, JobSpecSchema, PrioritySchema } from "../jobs/job-spec.ts";
import { JOB_STATES } from "../jobs/job-state.ts";
import {
  DatasetSchema,
  HyperparameterSchemas,
  ModelTypeSchema,
} from "../training/hyperparameters.ts";
import { MODEL_TYPES } from "../training/limits.ts";
import { WORKER_STATUSES } from "../workers/worker-record.ts";
import { JobActionSchema, QueuePlaceFields } from "./queue-schemas.ts";

export { ListQuerySchema };

/**
 * The job spec as OpenAPI shows it: `oneOf` a variant per `model_type`, each with that model's
 * hyperparameters (ranges and defaults) — built from the very schemas the gateway checks with.
 * For documentation only: every door's spec is checked once, by `parseJobSpec`, which picks the
 * hyperparameter schema by `model_type` the same way and names each field at fault.
 */
export const JobSpecBodySchema = Type.Unsafe<JobSpecInput>({
  oneOf: MODEL_TYPES.map((model) =>
    Type.Object(
      {
        ...JobSpecSchema.properties,
        model_type: Type.Enum([model], { description: `This variant's model family.` }),
        hyperparameters: Type.Optional(withAliases(HyperparameterSchemas[model])),
      },
      { additionalProperties: false, title: `${model} job spec` },
    ),
  ),
  description:
    "A job spec; its hyperparameters depend on model_type. The seed services' names are accepted too (parameters, dependencies, retry_policy.retry_delay, n_estimators, max_epochs, C), each resolved into this one schema.",
});

/** A model's hyperparameters as OpenAPI shows them: with the seeds' names of its fields. */
function withAliases(schema: Type.TObject): Type.TObject {
  const aliases = Object.fromEntries(
    HYPERPARAMETER_ALIASES.flatMap(({ alias, canonical, seed }) => {
      const known = canonical.startsWith("/") || canonical in schema.properties;
      const where = canonical.startsWith("/") ? canonical.slice(1) : canonical;
      return known
        ? [
            [
              alias,
              Type.Optional(Type.Unknown({ description: `Seed ${seed}'s name for ${where}.` })),
            ],
          ]
        : [];
    }),
  );
  return Type.Object({ ...schema.properties, ...aliases }, { additionalProperties: false });
}

/** Most specs a batch may hold. */
export const MAX_BATCH_SPECS = 1000;

const Nullable = <T extends Type.TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Timestamp = (description: string) =>
  Type.String({ description: `${description} (ISO 8601).` });

/** `:id` of the job routes. */
export const JobIdParamsSchema = Type.Object(
  { id: JobIdQuerySchema.properties.job_id },
  { additionalProperties: false },
);

/** `:id` of a worker. */
export const WorkerIdParamsSchema = Type.Object(
  { id: WorkerIdQuerySchema.properties.worker_id },
  { additionalProperties: false },
);

export const SubmitReplySchema = Type.Object({
  job_id: Type.String(),
  status: Type.String({ description: `The job's status: ${JOB_STATES.join(" | ")}.` }),
  total_tasks: Type.Integer(),
  duplicate: Type.Boolean({
    description: "True when the idempotency_key named an existing job, which is returned instead.",
  }),
  message: Type.String({ description: "For people: submitted, or the existing job returned." }),
  ...QueuePlaceFields,
});

/** A job spec with every default applied, as stored in the job record. */
const ResolvedSpecSchema = Type.Object(
  {
    name: Type.String(),
    model_type: ModelTypeSchema,
    dataset: DatasetSchema,
    epochs: Type.Integer(),
    tasks: Type.Integer(),
    hyperparameters: Type.Object({}, { additionalProperties: true }),
    priority: PrioritySchema,
    user_id: Type.String(),
    resources: Type.Object({
      cpu_cores: Type.Number(),
      memory_gb: Type.Number(),
      gpu_count: Type.Number(),
      storage_gb: Type.Optional(Type.Number()),
    }),
    retry_policy: Type.Object({ max_attempts: Type.Integer(), backoff_ms: Type.Integer() }),
    timeout_s: Type.Optional(Type.Integer()),
    idempotency_key: Type.Optional(Type.String()),
    depends_on: Type.Optional(Type.Array(Type.String())),
    dependency_type: Type.Optional(Type.String()),
    node_selector: Type.Optional(Type.Record(Type.String(), Type.String())),
  },
  { additionalProperties: true },
);

/** A job as every door returns it (DESIGN §2.2). */
export const JobRecordSchema = Type.Object({
  job_id: Type.String(),
  name: Type.String(),
  model_type: ModelTypeSchema,
  status: Type.Enum([...JOB_STATES]),
  priority: Type.Enum([...PRIORITIES]),
  user_id: Type.String(),
  total_tasks: Type.Integer(),
  completed_tasks: Type.Integer(),
  failed_tasks: Type.Integer(),
  running_tasks: Type.Integer(),
  progress: Type.Number({ minimum: 0, maximum: 1, description: "completed_tasks / total_tasks." }),
  metrics: Type.Object({ loss: Nullable(Type.Number()), accuracy: Nullable(Type.Number()) }),
  retries: Type.Integer({ description: "Task attempts beyond the first, over all tasks." }),
  error: Nullable(Type.String()),
  created_at: Timestamp("When the job was submitted"),
  started_at: Nullable(Timestamp("When its first task started")),
  finished_at: Nullable(Timestamp("When it reached its end state")),
  spec: ResolvedSpecSchema,
  unschedulable: Type.Optional(
    Type.String({
      description:
        "Why no live worker can ever run its tasks (its resources, service or node_selector), while that holds; the job stays queued (MAX_UNSCHEDULABLE fails it after a while).",
    }),
  ),
  unschedulable_since: Type.Optional(Timestamp("Since when it has been unschedulable")),
  ...QueuePlaceFields,
  history: Type.Optional(
    Type.Array(JobActionSchema, { description: "Queue actions, oldest first." }),
  ),
});

export const JobListSchema = Type.Object({
  jobs: Type.Array(JobRecordSchema),
  next_cursor: Nullable(
    Type.String({ description: "Pass as `cursor` for the next page; null on the last page." }),
  ),
});

export const BatchRequestSchema = Type.Object(
  {
    specs: Type.Optional(Type.Array(JobSpecBodySchema, { minItems: 1, maxItems: MAX_BATCH_SPECS })),
    jobs: Type.Optional(
      Type.Array(Type.Object({}, { additionalProperties: true }), {
        minItems: 1,
        maxItems: MAX_BATCH_SPECS,
        description: "Seed 001's name for specs: job specs, or {template, parameters}.",
      }),
    ),
    execution_mode: Type.Optional(
      Type.Enum(["parallel", "sequential"], {
        description:
          "With jobs: sequential = each job depends on the one before (default parallel).",
      }),
    ),
  },
  {
    additionalProperties: false,
    description: "Either specs, or seed 001's jobs and execution_mode.",
    examples: [
      {
        jobs: [
          { template: "hyperparameter_tuning", parameters: { algorithm: "svm", C: 1.0 } },
          { template: "hyperparameter_tuning", parameters: { algorithm: "svm", C: 10.0 } },
        ],
        execution_mode: "parallel",
      },
    ],
  },
);

export const BatchReplySchema = Type.Object({
  results: Type.Array(
    Type.Object({
      index: Type.Integer({ description: "Position of the spec in the request." }),
      ok: Type.Boolean(),
      job_id: Type.Optional(Type.String()),
      status: Type.Optional(Type.String()),
      total_tasks: Type.Optional(Type.Integer()),
      duplicate: Type.Optional(Type.Boolean()),
      error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
    }),
  ),
  submitted: Type.Integer({ description: "Specs that were queued (or named an existing job)." }),
  failed: Type.Integer({ description: "Specs that could not be queued (NATS failure)." }),
});

export const WorkerRecordSchema = Type.Object({
  worker_id: Type.String(),
  status: Type.Enum([...WORKER_STATUSES]),
  hostname: Type.String(),
  pid: Type.Integer(),
  capabilities: Type.Object({
    cpu_cores: Type.Number({ description: "Its slots (MAX_CONCURRENT_TASKS)." }),
    memory_gb: Type.Number({ description: "WORKER_MEMORY_GB, else the machine's memory." }),
    gpu_count: Type.Number({ description: "WORKER_GPUS." }),
    max_concurrent_tasks: Type.Integer(),
    services: Type.Optional(
      Type.Union([Type.Array(Type.String()), Type.Null()], {
        description: "WORKER_SERVICES: the only services it takes tasks of; null: every one.",
      }),
    ),
    labels: Type.Optional(
      Type.Record(Type.String(), Type.String(), { description: "WORKER_LABELS." }),
    ),
  }),
  allocated: Type.Optional(
    Type.Object(
      { cpu_cores: Type.Number(), memory_gb: Type.Number(), gpu_count: Type.Number() },
      { description: "What its running tasks hold (a 2-core task: 2 cores)." },
    ),
  ),
  current_task_ids: Type.Array(Type.String(), { description: "`<job_id>.<task_index>` each." }),
  current_task_id: Type.String({
    description: "The first of current_task_ids, or empty when idle (seed 000).",
  }),
  tasks_completed: Type.Integer({ description: "Tasks that completed here." }),
  tasks_failed: Type.Integer({
    description: "Tasks whose last attempt failed here (the job counts them in failed_tasks).",
  }),
  tasks_cancelled: Type.Integer({
    description: "Tasks stopped here because their job was cancelled, timed out or failed.",
  }),
  tasks_retried: Type.Integer({
    description: "Attempts that failed here and were queued again (the task may still complete).",
  }),
  cpu_usage: Type.Number({
    description: "Percent of all cores since the previous heartbeat, 0..100 (seed 000's unit).",
  }),
  memory_usage: Type.Number({
    description: "Resident memory, percent of the machine's, 0..100 (seed 000's unit).",
  }),
  cpu_share: Type.Number({ description: "cpu_usage as a share, 0..1." }),
  memory_share: Type.Number({ description: "memory_usage as a share, 0..1." }),
  last_activity_time: Type.Integer({
    description: "Last heartbeat or task change, unix seconds (seed 000's unit).",
  }),
  last_activity_at: Timestamp("Last heartbeat or task change"),
  last_seen: Timestamp("last_activity_at, by seed 003's name"),
  is_active: Type.Boolean({ description: "Not stale (seed 000)." }),
  stale: Type.Boolean({ description: "Two heartbeats missed (seed 003)." }),
  started_at: Timestamp("When the worker registered"),
  heartbeat_interval_ms: Type.Optional(
    Type.Integer({
      description:
        "The worker's HEARTBEAT_INTERVAL: it reads as STALE after two heartbeats missed.",
    }),
  ),
  worker_timeout_ms: Type.Optional(
    Type.Integer({
      description:
        "The worker's WORKER_TIMEOUT (HEARTBEAT_TTL_SEC): silent this long, it leaves the list.",
    }),
  ),
});

/** Seed 003's `GET /workers`: the workers alone, without the totals. */
export const WorkerListSchema = Type.Array(WorkerRecordSchema);

/** Seed 004's `GET /health`. */
export const WorkerHealthSchema = Type.Object({
  status: Type.Enum([...WORKER_STATUSES]),
  worker_id: Type.String(),
  uptime: Type.String({ description: "Since the worker registered, as Go prints it: 2h15m30s." }),
  uptime_s: Type.Integer(),
  active_tasks: Type.Integer(),
  completed_tasks: Type.Integer(),
  cpu_usage: Type.Number({ description: "Percent of all cores since the previous heartbeat." }),
  memory_usage: Type.Integer({ description: "Resident memory, bytes." }),
  last_heartbeat: Nullable(Timestamp("When a heartbeat last reached NATS")),
  orchestrator_connection: Type.Enum(["connected", "disconnected"], {
    description: "connected while NATS answers and the streams are there.",
  }),
});

export const CleanupReplySchema = Type.Object({
  ok: Type.Literal(true),
  removed: Type.Integer({ description: "How many things were removed." }),
  workers_removed: Type.Array(Type.String(), {
    description: "Stale workers (two heartbeats missed) removed from the list.",
  }),
  jobs_removed: Type.Optional(Type.Integer({ description: "Jobs ended more than RETENTION ago." })),
  results_removed: Type.Optional(Type.Integer({ description: "Their chunk result records." })),
  artifacts_removed: Type.Optional(Type.Integer({ description: "Their artifacts." })),
  idempotency_keys_removed: Type.Optional(Type.Integer({ description: "Their idempotency keys." })),
});

export const WorkerActivitySchema = Type.Object({
  total_workers: Type.Integer(),
  active_workers: Type.Integer({ description: "Workers that are not stale." }),
  busy_workers: Type.Integer(),
  workers: Type.Array(WorkerRecordSchema),
});

/** RFC 9457 problem details, the body of every error. */
export const ProblemSchema = Type.Object({
  type: Type.String(),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String(),
  code: Type.String({ description: "Stable error code, e.g. TROUPE_ERR_INVALID_REQUEST." }),
  errors: Type.Array(
    Type.Object({
      path: Type.String({
        description: "JSON pointer of the field at fault; empty for the whole body.",
      }),
      message: Type.String(),
    }),
  ),
});

export const HealthSchema = Type.Object({ status: Type.Literal("ok") });
export const ReadySchema = Type.Object({ status: Type.Literal("ready") });

const problemResponse = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: ProblemSchema } },
});

/** Error responses every route may give, serialized by the problem schema. */
export const PROBLEM_RESPONSES = {
  "4xx": problemResponse("The request is at fault; `errors` names each field."),
  "5xx": problemResponse("The server is at fault or not ready."),
} as const;
