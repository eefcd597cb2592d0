import Type, { type Static } from "typebox";
import { PRIORITIES, type Priority } from "../contract/priorities.ts";
import { InvalidRequestError } from "../errors.ts";
import { DatasetSchema, EpochsSchema, ModelTypeSchema } from "../training/hyperparameters.ts";
import {
  type NamedDatasets,
  TasksSchema,
  validateTrainingSpec,
} from "../training/training-spec.ts";
import type { ResolvedTrainingSpec } from "../training/types.ts";
import { schemaProblems } from "../validation.ts";
import { DEPENDENCY_TYPES, type DependencyType } from "./job-dependencies.ts";
import { resolveSpecAliases } from "./spec-aliases.ts";

/** Ids and user names become subject tokens and KV keys: no dots, spaces or wildcards. */
const TOKEN = "^[A-Za-z0-9_-]{1,64}$";

export const PrioritySchema = Type.Enum([...PRIORITIES], {
  default: "normal",
  description: "urgent | high | normal | low (default normal).",
});

export const ResourcesSchema = Type.Object(
  {
    cpu_cores: Type.Optional(Type.Integer({ minimum: 1, maximum: 256, default: 1 })),
    memory_gb: Type.Optional(Type.Number({ minimum: 0, maximum: 4096, default: 1 })),
    gpu_count: Type.Optional(Type.Integer({ minimum: 0, maximum: 64, default: 0 })),
    storage_gb: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 1_000_000,
        description: "Scratch storage a task needs (seed 001); kept with the job.",
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      "What one task needs; it runs only on a worker with that much free (a 2-core task holds 2 slots). Within 1 core, 1 GB and no GPU: one slot.",
  },
);

export const RetryPolicySchema = Type.Object(
  {
    max_attempts: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 100,
        description: "Attempts of a task before the job fails, 1..100 (default MAX_RETRIES + 1).",
      }),
    ),
    backoff_ms: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 3_600_000,
        default: 1000,
        description: "Delay before the first retry, doubling each time (with jitter), 0..3600000.",
      }),
    ),
    retry_delay: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 3600,
        description: "Seed 001's name: backoff_ms in seconds (backoff_ms = retry_delay × 1000).",
      }),
    ),
  },
  { additionalProperties: false },
);

const JOB_ID = "^job_[0-9a-z]{19}$";

/** Seed 001's `parameters`: resolved into model_type, dataset and hyperparameters. */
export const ParametersSchema = Type.Object(
  {
    algorithm: Type.Optional(ModelTypeSchema),
    dataset_name: Type.Optional(
      Type.String({ description: "dataset.dataset_id: a built-in sample set such as iris." }),
    ),
    dataset: Type.Optional(
      Type.String({ description: "dataset.dataset_id: an uploaded data set, by its name." }),
    ),
    test_split: Type.Optional(Type.Number({ description: "dataset.test_fraction." })),
    target_column: Type.Optional(Type.String({ description: "dataset.target_column." })),
    hyperparameters: Type.Optional(Type.Object({}, { additionalProperties: true })),
  },
  {
    additionalProperties: true,
    description:
      "Seed 001's envelope, another way to write the same spec: algorithm is model_type, dataset_name (or dataset) dataset.dataset_id, test_split dataset.test_fraction, target_column dataset.target_column, hyperparameters (and any other key) hyperparameters; n_estimators is n_trees, max_epochs epochs, C c. A value given both ways must agree.",
  },
);

/**
 * The one job spec (DESIGN §2.1), for every door: NATS, HTTP (JSON and YAML), CLI. The training
 * part (model_type, dataset, epochs, tasks, hyperparameters) is checked by the training module,
 * hyperparameters against the schema of the chosen model type.
 */
export const JobSpecSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    model_type: ModelTypeSchema,
    dataset: Type.Optional(DatasetSchema),
    epochs: Type.Optional(EpochsSchema),
    tasks: Type.Optional(TasksSchema),
    hyperparameters: Type.Optional(
      Type.Object(
        {},
        {
          description:
            "Per model_type, checked against HyperparameterSchemas[model_type]: see the README's hyperparameter tables, or /docs (a variant per model_type).",
        },
      ),
    ),
    priority: Type.Optional(PrioritySchema),
    user_id: Type.Optional(Type.String({ pattern: TOKEN, default: "anonymous" })),
    service: Type.Optional(
      Type.String({
        pattern: "^[a-z0-9_]{1,64}$",
        description:
          "What SERVICE_<NAME>_RUNS_PER_USER caps (seed 002): lower-case letters, digits, _ (default: the model_type).",
      }),
    ),
    resources: Type.Optional(ResourcesSchema),
    node_selector: Type.Optional(
      Type.Record(
        Type.String({ pattern: "^[A-Za-z0-9_.-]{1,63}$" }),
        Type.String({ pattern: "^[A-Za-z0-9_.-]{1,63}$" }),
        {
          maxProperties: 16,
          // A name off the pattern is then refused (by default it would pass unchecked).
          additionalProperties: false,
          description:
            'Labels a worker must have (WORKER_LABELS) to run the job\'s tasks, e.g. {"zone": "a"}.',
        },
      ),
    ),
    retry_policy: Type.Optional(RetryPolicySchema),
    timeout_s: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 604_800, description: "Job deadline in seconds." }),
    ),
    idempotency_key: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    depends_on: Type.Optional(
      Type.Array(Type.String({ pattern: JOB_ID }), {
        maxItems: 1000,
        description:
          "Jobs this one waits for (state WAITING) before it is queued; each must exist (alias: dependencies).",
      }),
    ),
    dependency_type: Type.Optional(
      Type.Enum([...DEPENDENCY_TYPES], {
        default: "all_complete",
        description:
          "all_complete (default): every dependency COMPLETED; any_complete: one COMPLETED; all_finished: every one ended, however. When it can no longer hold, the job ends CANCELLED naming the dependency.",
      }),
    ),
    task_type: Type.Optional(
      Type.Enum(["train", "evaluate", "predict"], {
        default: "train",
        description:
          "train (default); evaluate (loss, accuracy and confusion matrix of model on the data set) or predict (predictions.csv), each sharding dataset over the tasks in file order. model_type is then the model's.",
      }),
    ),
    model: Type.Optional(
      Type.Object(
        { job_id: Type.String({ pattern: JOB_ID, description: "A completed training job." }) },
        { additionalProperties: false, description: "With evaluate and predict: whose model." },
      ),
    ),
    parameters: Type.Optional(ParametersSchema),
    dependencies: Type.Optional(
      Type.Array(Type.String(), { description: "Seed 001's name for depends_on." }),
    ),
  },
  { additionalProperties: false },
);

export type JobSpecInput = Static<typeof JobSpecSchema>;

/** A job spec with every default applied: what a job record stores and tasks are made from. */
export type JobSpec = ResolvedTrainingSpec & {
  name: string;
  priority: Priority;
  user_id: string;
  /** Quota group (SERVICE_<NAME>_RUNS_PER_USER); the model type unless the spec names one. */
  service?: string;
  resources: { cpu_cores: number; memory_gb: number; gpu_count: number; storage_gb?: number };
  /** Labels a worker must have to run its tasks (WORKER_LABELS); absent: any worker. */
  node_selector?: Record<string, string>;
  retry_policy: { max_attempts: number; backoff_ms: number };
  timeout_s: number | undefined;
  idempotency_key: string | undefined;
  /** Present only on a job that waits for others (DESIGN §5.2). */
  depends_on?: string[];
  dependency_type?: DependencyType;
};

// The non-training fields are checked here; the training ones are only required to exist.
const TRAINING_FIELDS = ["model_type", "dataset", "epochs", "tasks", "hyperparameters"] as const;
const ControlSchema = Type.Object(
  {
    ...JobSpecSchema.properties,
    ...Object.fromEntries(
      TRAINING_FIELDS.map((field) => [
        field,
        field === "model_type" ? Type.Unknown() : Type.Optional(Type.Unknown()),
      ]),
    ),
  },
  { additionalProperties: false },
);

/**
 * Validates a decoded request body as a job spec and applies the defaults.
 * @throws InvalidRequestError naming every field at fault, all at once: the control fields' and
 *   the training fields' problems together (cross-field bounds once every field is valid).
 */
export function parseJobSpec(
  submitted: unknown,
  defaults: { maxAttempts: number; datasets?: NamedDatasets | undefined },
): JobSpec {
  const aliases = resolveSpecAliases(submitted);
  const body = aliases.body;
  const problems = [...aliases.problems, ...schemaProblems(ControlSchema, body)];
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new InvalidRequestError("job spec", problems);
  }
  const input = body as JobSpecInput;
  const training = validateTrainingSpec(
    Object.fromEntries(TRAINING_FIELDS.filter((f) => f in input).map((f) => [f, input[f]])),
    defaults.datasets,
  );
  if (!training.ok) {
    // Both checks may name a missing model_type: once is enough.
    const named = new Set(problems.map((p) => p.path));
    problems.push(...training.errors.filter((e) => !named.has(e.path)));
  }
  const taskType = (input as { task_type?: string }).task_type ?? "train";
  const model = (input as { model?: { job_id: string } }).model;
  if ((taskType === "train") !== (model === undefined)) {
    problems.push({
      path: taskType === "train" ? "/model" : "/model/job_id",
      message:
        taskType === "train"
          ? "is for task_type evaluate and predict"
          : `${taskType} needs the model of a completed job: {"job_id": …}`,
    });
  }
  if (problems.length > 0 || !training.ok) {
    throw new InvalidRequestError("job spec", problems.map(asWritten(aliases.written)));
  }
  return {
    ...training.value,
    ...(model && { task_type: taskType as "evaluate" | "predict", model }),
    name: input.name ?? training.value.model_type,
    priority: input.priority ?? "normal",
    user_id: input.user_id ?? "anonymous",
    service: input.service ?? training.value.model_type,
    resources: { cpu_cores: 1, memory_gb: 1, gpu_count: 0, ...input.resources },
    ...(input.node_selector &&
      Object.keys(input.node_selector).length > 0 && { node_selector: input.node_selector }),
    retry_policy: {
      max_attempts: input.retry_policy?.max_attempts ?? defaults.maxAttempts,
      backoff_ms: input.retry_policy?.backoff_ms ?? 1000,
    },
    timeout_s: input.timeout_s,
    idempotency_key: input.idempotency_key,
    ...dependenciesOf(input),
  };
}

/** The dependency fields of a spec, only when it has dependencies (duplicates dropped). */
function dependenciesOf(input: JobSpecInput): Pick<JobSpec, "depends_on" | "dependency_type"> {
  const ids = [...new Set(input.depends_on ?? [])];
  if (ids.length === 0) return {};
  return { depends_on: ids, dependency_type: input.dependency_type ?? "all_complete" };
}

/** A problem's path as the sender wrote it, when it is in a value an alias moved. */
function asWritten(written: Map<string, string>) {
  return (problem: { path: string; message: string }) => {
    let best = "";
    for (const canonical of written.keys()) {
      const within = problem.path === canonical || problem.path.startsWith(`${canonical}/`);
      if (within && canonical.length > best.length) best = canonical;
    }
    if (best === "") return problem;
    return { ...problem, path: `${written.get(best)}${problem.path.slice(best.length)}` };
  };
}

/** The training part of a job spec: what a pool thread needs to train its tasks. */
export function trainingSpecOf(spec: JobSpec): ResolvedTrainingSpec {
  const { model_type, dataset, epochs, tasks, hyperparameters, task_type, model } = spec;
  const training = { model_type, dataset, epochs, tasks, hyperparameters };
  return (model ? { ...training, task_type, model } : training) as ResolvedTrainingSpec;
}
