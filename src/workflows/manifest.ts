import Type, { type Static } from "typebox";
import { type FieldProblem, InvalidRequestError } from "../errors.ts";
import { schemaProblems } from "../validation.ts";
import { MAX_WORKFLOW_STEPS } from "./workflow-spec.ts";

const NAME = "^[A-Za-z0-9_-]{1,64}$";
/** Tasks of a stage with `parallel.enabled` and no `parallel.workers`. */
const DEFAULT_PARALLEL_TASKS = 4;

const ResourcesSchema = Type.Object(
  {
    cpu: Type.Optional(Type.Integer({ minimum: 1, maximum: 256, description: "cpu_cores." })),
    memory: Type.Optional(
      Type.Union([Type.Number({ minimum: 0 }), Type.String({ pattern: "^[0-9.]+(Gi|Mi|G|M)$" })], {
        description: "memory_gb: a number of GB, or 4Gi, 512Mi.",
      }),
    ),
    gpu: Type.Optional(Type.Integer({ minimum: 0, maximum: 64, description: "gpu_count." })),
  },
  { additionalProperties: false },
);
const ParallelSchema = Type.Object(
  {
    enabled: Type.Boolean({ description: "Split the stage's job into tasks (data-parallel)." }),
    workers: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1000, description: "Its tasks (default 4)." }),
    ),
  },
  { additionalProperties: false },
);
const DataSchema = Type.Object(
  {
    dataset: Type.Optional(
      Type.String({ minLength: 1, maxLength: 128, description: "dataset.dataset_id." }),
    ),
    split: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        exclusiveMaximum: 1,
        description: "Held-out fraction, kept in the record.",
      }),
    ),
  },
  { additionalProperties: false },
);
const ModelSchema = Type.Object(
  {
    type: Type.Optional(Type.String({ description: "model_type." })),
    hyperparameters: Type.Optional(Type.Object({}, { additionalProperties: true })),
    fromStage: Type.Optional(
      Type.String({
        description:
          "evaluate/predict: the stage whose model it uses (default: the train stage it depends on).",
      }),
    ),
  },
  { additionalProperties: false },
);
const OutputSchema = Type.Object(
  {
    destination: Type.Object(
      {
        path: Type.String({
          minLength: 1,
          maxLength: 1024,
          description: "Kept in the record (where results go).",
        }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

const StageSchema = Type.Object(
  {
    name: Type.String({ pattern: NAME }),
    taskType: Type.Optional(Type.Enum(["train", "evaluate", "predict"], { default: "train" })),
    dependsOn: Type.Optional(Type.Array(Type.String(), { maxItems: MAX_WORKFLOW_STEPS })),
    model: Type.Optional(ModelSchema),
    resources: Type.Optional(ResourcesSchema),
    parallel: Type.Optional(ParallelSchema),
    data: Type.Optional(DataSchema),
    epochs: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    output: Type.Optional(OutputSchema),
  },
  { additionalProperties: false },
);

/** Seed 003's manifest (`POST /api/v1/tasks`, YAML): a workflow of stages. */
export const ManifestSchema = Type.Object(
  {
    apiVersion: Type.Optional(Type.String()),
    kind: Type.Optional(Type.String()),
    metadata: Type.Object(
      {
        name: Type.String({ minLength: 1, maxLength: 200 }),
        description: Type.Optional(Type.String({ maxLength: 2000 })),
        user: Type.Optional(Type.String({ pattern: NAME })),
      },
      { additionalProperties: false },
    ),
    spec: Type.Object(
      {
        model: Type.Optional(ModelSchema),
        resources: Type.Optional(ResourcesSchema),
        parallel: Type.Optional(ParallelSchema),
        data: Type.Optional(DataSchema),
        stages: Type.Array(StageSchema, { minItems: 1, maxItems: MAX_WORKFLOW_STEPS }),
      },
      {
        additionalProperties: false,
        description: "Defaults for every stage (model, resources, parallel, data), and the stages.",
      },
    ),
  },
  {
    additionalProperties: false,
    examples: [
      {
        apiVersion: "mloc/v1",
        kind: "Pipeline",
        metadata: { name: "churn" },
        spec: {
          model: { type: "logistic_regression" },
          data: { dataset: "iris", split: 0.2 },
          stages: [
            { name: "prepare", epochs: 2, parallel: { enabled: false } },
            {
              name: "train",
              dependsOn: ["prepare"],
              model: { type: "random_forest", hyperparameters: { n_trees: 50 } },
              resources: { cpu: 2, memory: "2Gi" },
              output: { destination: { path: "s3://models/churn/rf" } },
            },
          ],
        },
      },
    ],
  },
);
type Manifest = Static<typeof ManifestSchema>;
type Stage = Static<typeof StageSchema>;

/** Where a step's job field comes from in a stage (for naming a problem where it was written). */
const WRITTEN_AT: readonly [string, string][] = [
  ["/model_type", "/model/type"],
  ["/hyperparameters", "/model/hyperparameters"],
  ["/model", "/model/fromStage"],
  ["/task_type", "/taskType"],
  ["/tasks", "/parallel/workers"],
  ["/dataset", "/data/dataset"],
  ["/resources", "/resources"],
  ["/epochs", "/epochs"],
];

/** A manifest as a workflow submit body, and what the record keeps of it. */
export interface ManifestWorkflow {
  workflow: Record<string, unknown>;
  metadata: Record<string, unknown>;
  /** A workflow problem's path as the manifest writes it. */
  pathOf(problem: FieldProblem): FieldProblem;
}

/**
 * Validates a manifest (every field known, named by its path in the YAML) and maps it onto a
 * workflow: a stage is a step, `dependsOn` its depends_on, `model`, `resources`, `parallel`
 * (`enabled` → tasks = workers, else 1) and `data.dataset` its job's, the spec-level ones the
 * defaults; `taskType` evaluate/predict take the model of the train stage they depend on.
 * `data.split` and `output.destination.path` are kept in the workflow record's metadata.
 */
export function manifestWorkflow(body: unknown): ManifestWorkflow {
  const problems = schemaProblems(ManifestSchema, body);
  if (problems.length > 0) throw new InvalidRequestError("manifest", problems);
  const manifest = body as Manifest;
  const { spec } = manifest;
  const steps = spec.stages.map((stage) => ({
    step_id: stage.name,
    ...(stage.dependsOn ? { depends_on: stage.dependsOn } : {}),
    job: stageJob(stage, manifest, spec.stages),
  }));
  const stages = Object.fromEntries(
    spec.stages.map((stage) => [
      stage.name,
      {
        task_type: stage.taskType ?? "train",
        data_split: stage.data?.split ?? spec.data?.split ?? null,
        output_path: stage.output?.destination.path ?? null,
      },
    ]),
  );
  return {
    workflow: {
      workflow_name: manifest.metadata.name,
      ...(manifest.metadata.description ? { description: manifest.metadata.description } : {}),
      ...(manifest.metadata.user ? { user_id: manifest.metadata.user } : {}),
      steps,
    },
    metadata: {
      source: "manifest",
      ...(manifest.apiVersion ? { apiVersion: manifest.apiVersion } : {}),
      ...(manifest.kind ? { kind: manifest.kind } : {}),
      stages,
    },
    pathOf: (problem) => ({ ...problem, path: writtenPath(problem.path) }),
  };
}

function stageJob(
  stage: Stage,
  manifest: Manifest,
  all: readonly Stage[],
): Record<string, unknown> {
  const { spec } = manifest;
  const model = { ...spec.model, ...stage.model };
  const parallel = stage.parallel ?? spec.parallel;
  const resources = { ...spec.resources, ...stage.resources };
  const dataset = stage.data?.dataset ?? spec.data?.dataset;
  const job: Record<string, unknown> = { name: `${manifest.metadata.name}/${stage.name}` };
  if (model.type !== undefined) job.model_type = model.type;
  if (model.hyperparameters !== undefined) job.hyperparameters = model.hyperparameters;
  if (stage.epochs !== undefined) job.epochs = stage.epochs;
  if (parallel) job.tasks = parallel.enabled ? (parallel.workers ?? DEFAULT_PARALLEL_TASKS) : 1;
  if (dataset !== undefined) job.dataset = { dataset_id: dataset };
  if (Object.keys(resources).length > 0) job.resources = resourcesOf(resources);
  const taskType = stage.taskType ?? "train";
  if (taskType !== "train") {
    job.task_type = taskType;
    const from =
      model.fromStage ??
      all.find(
        (s) => (stage.dependsOn ?? []).includes(s.name) && (s.taskType ?? "train") === "train",
      )?.name;
    if (from !== undefined) job.model = { from_step: from };
  }
  return job;
}

function resourcesOf(given: Static<typeof ResourcesSchema>): Record<string, number> {
  const out: Record<string, number> = {};
  if (given.cpu !== undefined) out.cpu_cores = given.cpu;
  if (given.gpu !== undefined) out.gpu_count = given.gpu;
  if (typeof given.memory === "number") out.memory_gb = given.memory;
  else if (typeof given.memory === "string") {
    const amount = Number.parseFloat(given.memory);
    out.memory_gb = /M/.test(given.memory) ? amount / 1024 : amount;
  }
  return out;
}

/** `/steps/2/job/model_type` → `/spec/stages/2/model/type`; other workflow paths likewise. */
function writtenPath(path: string): string {
  const step = /^\/steps\/(\d+)(\/job)?(.*)$/.exec(path);
  if (!step) return path === "/workflow_name" ? "/metadata/name" : `/spec${path}`;
  const [, index, inJob, rest = ""] = step;
  const stage = `/spec/stages/${index}`;
  if (!inJob) {
    if (rest.startsWith("/depends_on"))
      return `${stage}/dependsOn${rest.slice("/depends_on".length)}`;
    return rest === "/step_id" ? `${stage}/name` : `${stage}${rest}`;
  }
  for (const [field, written] of WRITTEN_AT) {
    if (rest === field || rest.startsWith(`${field}/`)) {
      // Hyperparameters are written as they are; the other fields are renamed as a whole.
      const inner = field === "/hyperparameters" ? rest.slice(field.length) : "";
      return `${stage}${written}${inner}`;
    }
  }
  return `${stage}${rest}`;
}
