/**
 * Validation of the training part of a job spec: the schemas (with defaults applied), then the
 * bounds that involve several fields. Every error names the field by JSON pointer. Runs on the
 * main thread at submit time and again in `pool.run` (cheap; no numeric work).
 */
import Type from "typebox";
import Value from "typebox/value";
import { TrainingSpecError } from "../errors.ts";
import { schemaProblems } from "../validation.ts";
import { BUILTIN_DATASET_IDS, builtinDataset } from "./datasets/builtin.ts";
import {
  DatasetSchema,
  type DatasetSpec,
  DEFAULT_EPOCHS,
  EpochsSchema,
  HyperparameterSchemas,
  ModelTypeSchema,
} from "./hyperparameters.ts";
import {
  holdoutSize,
  MAX_DATA_CELLS,
  MAX_ENSEMBLE_NUMBERS,
  MAX_NETWORK_PARAMETERS,
  MIN_SHARD_SAMPLES,
  type ModelType,
  smallestShard,
} from "./limits.ts";
import type { ResolvedTaskInput, ResolvedTrainingSpec, TaskInput } from "./types.ts";

/** A validation failure: `path` is a JSON pointer such as `/hyperparameters/max_depth`. */
export interface FieldError {
  path: string;
  message: string;
}

export type SpecValidation =
  | { ok: true; value: ResolvedTrainingSpec }
  | { ok: false; errors: FieldError[] };

const DEFAULT_TASKS = 4;

/** `tasks`: data-parallel tasks of a job (DESIGN §2.1). Default 4; 1..1000. */
export const TasksSchema = Type.Integer({
  minimum: 1,
  maximum: 1000,
  default: DEFAULT_TASKS,
  description: "Data-parallel tasks, 1..1000 (default 4).",
});

// The top level; `dataset` and `hyperparameters` need only be objects here, their fields are
// checked below against their own schemas (the hyperparameters' by model type).
const SpecShape = Type.Object({
  model_type: ModelTypeSchema,
  dataset: Type.Optional(Type.Object({})),
  epochs: Type.Optional(EpochsSchema),
  tasks: Type.Optional(TasksSchema),
  hyperparameters: Type.Optional(Type.Object({})),
});

/**
 * Data sets named by id beyond the built-in ones (uploaded): the resolved dataset spec, problems
 * naming the field at fault, or undefined for an id not known.
 */
export type NamedDatasets = (
  id: string,
  given: Record<string, unknown>,
) => { value: DatasetSpec } | { errors: FieldError[] } | undefined;

/**
 * Applies the defaults of every schema and checks them, reporting every field at fault at once;
 * then, when each field is valid, checks the cross-field bounds.
 */
export function validateTrainingSpec(raw: unknown, named?: NamedDatasets): SpecValidation {
  if (typeof raw !== "object" || raw === null) {
    return { ok: false, errors: [{ path: "", message: "must be an object" }] };
  }
  const input = raw as Record<string, unknown>;
  const errors = schemaProblems(SpecShape, input, "");
  const faulty = new Set(errors.map((e) => e.path));
  const dataset = faulty.has("/dataset")
    ? undefined
    : resolveDataset(input.dataset ?? {}, errors, named);
  // Hyperparameters can only be checked against a known model type.
  const modelType = faulty.has("/model_type") ? undefined : (input.model_type as ModelType);
  const schema = modelType && HyperparameterSchemas[modelType];
  const given = structuredClone(input.hyperparameters ?? {}) as Record<string, unknown>;
  // A tree model trains one tree (or boosting round) an epoch: `epochs` is its number of trees.
  const trees = modelType === "random_forest" || modelType === "xgboost";
  const epochsAsTrees = trees && input.epochs !== undefined && !faulty.has("/epochs");
  if (epochsAsTrees && given.n_trees !== undefined && given.n_trees !== input.epochs) {
    errors.push({
      path: "/epochs",
      message: `for ${modelType}, epochs is the number of trees (hyperparameters.n_trees), and they differ (${String(input.epochs)} and ${String(given.n_trees)}): give one of them`,
    });
  } else if (epochsAsTrees) {
    given.n_trees = input.epochs;
  }
  const hyperparameters =
    schema && !faulty.has("/hyperparameters") ? Value.Default(schema, given) : undefined;
  if (schema && hyperparameters !== undefined) {
    const problems = schemaProblems(schema, hyperparameters, "/hyperparameters");
    // A tree count that came as `epochs` is reported there.
    for (const problem of problems) {
      if (epochsAsTrees && problem.path === "/hyperparameters/n_trees") problem.path = "/epochs";
    }
    errors.push(...problems);
  }
  if (errors.length > 0) return { ok: false, errors };
  const value = {
    model_type: modelType,
    dataset,
    epochs: trees
      ? (hyperparameters as { n_trees: number }).n_trees
      : (input.epochs ?? DEFAULT_EPOCHS),
    tasks: input.tasks ?? DEFAULT_TASKS,
    hyperparameters,
  } as ResolvedTrainingSpec;
  const bounds = checkTrainingBounds(value);
  return bounds.length > 0 ? { ok: false, errors: bounds } : { ok: true, value };
}

/** Fields a named data set decides itself. */
const NAMED_DATASET_OWNS = ["samples", "features", "classes", "noise"] as const;

/**
 * The dataset with its defaults: synthetic, or a named one (`dataset_id`) with its own size and
 * classes filled in. Problems are added to `errors`; undefined when there are any.
 */
function resolveDataset(
  raw: object,
  errors: FieldError[],
  uploaded?: NamedDatasets,
): DatasetSpec | undefined {
  const given = structuredClone(raw) as Record<string, unknown>;
  const problems = schemaProblems(DatasetSchema, given, "/dataset");
  if (problems.length > 0 || given.dataset_id === undefined) {
    const dataset = Value.Default(DatasetSchema, given) as DatasetSpec;
    errors.push(...schemaProblems(DatasetSchema, dataset, "/dataset"));
    return problems.length > 0 ? undefined : dataset;
  }
  const id = given.dataset_id as string;
  const named = builtinDataset(id);
  const found = named ? undefined : uploaded?.(id, given);
  if (found && "errors" in found) errors.push(...found.errors);
  if (found) return "value" in found ? found.value : undefined;
  if (!named) {
    errors.push({
      path: "/dataset/dataset_id",
      message: `no data set ${JSON.stringify(id)}: upload one (POST /api/v1/datasets); the built-in ones are ${BUILTIN_DATASET_IDS.join(", ")}`,
    });
    return undefined;
  }
  const before = errors.length;
  for (const field of NAMED_DATASET_OWNS) {
    if (given[field] !== undefined)
      errors.push({
        path: `/dataset/${field}`,
        message: `must not be given with dataset_id: ${id} has ${named.rows} rows, ${named.features.length} features and ${named.classes.length} classes`,
      });
  }
  const target = (given.target_column as string | undefined) ?? named.target_column;
  if (target !== named.target_column) {
    errors.push({
      path: "/dataset/target_column",
      message: `${id} is classified by ${JSON.stringify(named.target_column)} (its features: ${named.features.join(", ")})`,
    });
  }
  if (errors.length > before) return undefined;
  return {
    dataset_id: id,
    target_column: target,
    samples: named.rows,
    features: named.features.length,
    classes: named.classes.length,
    seed: (given.seed as number | undefined) ?? 0,
    noise: 0,
    ...(given.test_fraction !== undefined && { test_fraction: given.test_fraction as number }),
  };
}

/**
 * Bounds across fields, on a spec whose fields each passed their schema: data size, shard size,
 * network size and ensemble size. One task then cannot exhaust a thread's memory.
 */
export function checkTrainingBounds(spec: ResolvedTrainingSpec): FieldError[] {
  const errors: FieldError[] = [];
  const { samples, features, classes } = spec.dataset;
  if (samples * features > MAX_DATA_CELLS) {
    errors.push({
      path: "/dataset/samples",
      message: `samples × features is ${samples * features}; the limit is ${MAX_DATA_CELLS}`,
    });
  }
  const shard = smallestShard(samples, spec.tasks, spec.dataset.test_fraction);
  if (shard < MIN_SHARD_SAMPLES) {
    errors.push({
      path: "/tasks",
      message: `${spec.tasks} tasks leave ${shard} training rows a shard; each needs ${MIN_SHARD_SAMPLES}`,
    });
  }
  const outputs = classes === 2 ? 1 : classes;
  switch (spec.model_type) {
    case "logistic_regression":
    case "svm":
      break;
    case "neural_network": {
      const { hidden_units: h, hidden_layers: layers } = spec.hyperparameters;
      const parameters = (features + 1) * h + (layers - 1) * (h + 1) * h + (h + 1) * outputs;
      if (parameters > MAX_NETWORK_PARAMETERS) {
        errors.push({
          path: "/hyperparameters/hidden_units",
          message: `the network would have ${parameters} parameters; the limit is ${MAX_NETWORK_PARAMETERS}`,
        });
      }
      break;
    }
    case "random_forest":
    case "xgboost": {
      const { n_trees: trees, max_depth: depth } = spec.hyperparameters;
      const rows = Math.ceil(
        (samples - holdoutSize(samples, spec.dataset.test_fraction)) / spec.tasks,
      );
      const nodes = Math.min(2 ** (depth + 1), 2 * rows);
      const perNode = 4 + (spec.model_type === "random_forest" ? classes : 1);
      const treeCount = spec.model_type === "random_forest" ? trees : trees * outputs;
      const numbers = treeCount * nodes * perNode;
      if (numbers > MAX_ENSEMBLE_NUMBERS) {
        errors.push({
          path: "/hyperparameters/n_trees",
          message: `n_trees ${trees} at max_depth ${depth} could store ${numbers} numbers; the limit is ${MAX_ENSEMBLE_NUMBERS}`,
        });
      }
      break;
    }
  }
  return errors;
}

/**
 * Resolves a task input (defaults applied, bounds checked); throws `TrainingSpecError` naming the
 * first field at fault.
 */
export function resolveTaskInput(input: TaskInput): ResolvedTaskInput {
  const { task_index, checkpoint, ...spec } = input;
  const result = validateTrainingSpec(spec);
  if (!result.ok) {
    const first = result.errors[0] ?? { path: "", message: "invalid" };
    throw new TrainingSpecError(first.path, first.message);
  }
  if (!Number.isInteger(task_index) || task_index < 0 || task_index >= result.value.tasks) {
    throw new TrainingSpecError(
      "/task_index",
      `must be an integer in 0..${result.value.tasks - 1}`,
    );
  }
  if (checkpoint !== undefined && !(checkpoint instanceof Uint8Array)) {
    throw new TrainingSpecError("/checkpoint", "must be bytes (Uint8Array)");
  }
  return checkpoint === undefined
    ? { ...result.value, task_index }
    : { ...result.value, task_index, checkpoint };
}
