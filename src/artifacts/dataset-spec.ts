import type { DatasetRecord } from "../contract/datasets.ts";
import type { DatasetSpec } from "../training/hyperparameters.ts";
import type { FieldError, NamedDatasets } from "../training/training-spec.ts";
import type { ModelSummary } from "./model-files.ts";

/** Fields an uploaded data set decides itself. */
const OWNED = ["samples", "features", "classes", "noise"] as const;

/**
 * A job spec's `dataset` naming an uploaded data set, resolved against its record: the target
 * column must be a column with 2..100 values, and every other column numeric.
 */
export function uploadedDatasetSpec(
  record: DatasetRecord,
  given: Record<string, unknown>,
): { value: DatasetSpec } | { errors: FieldError[] } {
  const id = record.dataset_id;
  const errors: FieldError[] = [];
  for (const field of OWNED) {
    if (given[field] !== undefined)
      errors.push({
        path: `/dataset/${field}`,
        message: `must not be given with dataset_id: ${id} has ${record.rows} rows and ${record.columns.length} columns`,
      });
  }
  const target = (given.target_column as string | undefined) ?? record.target_column;
  const column = record.columns.find((c) => c.name === target);
  const names = record.columns.map((c) => c.name).join(", ");
  if (!column) {
    errors.push({
      path: "/dataset/target_column",
      message: `${JSON.stringify(target)} is not a column of ${id} (its columns: ${names})`,
    });
  } else if (!column.values || column.values.length < 2) {
    errors.push({
      path: "/dataset/target_column",
      message: `${JSON.stringify(target)} has ${column.values ? "one value" : "more than 100 distinct values"}: a target column holds 2..100 classes`,
    });
  }
  const text = record.columns.filter((c) => c.name !== target && c.type === "text");
  if (text.length > 0) {
    errors.push({
      path: "/dataset/target_column",
      message: `column(s) ${text.map((c) => JSON.stringify(c.name)).join(", ")} of ${id} hold text: every column but target_column must be numeric`,
    });
  }
  if (errors.length > 0 || !column?.values) return { errors };
  return {
    value: {
      dataset_id: id,
      target_column: target,
      samples: record.rows,
      features: record.columns.length - 1,
      classes: column.values.length,
      seed: (given.seed as number | undefined) ?? 0,
      noise: 0,
      ...(given.test_fraction !== undefined && { test_fraction: given.test_fraction as number }),
      content_hash: record.sha256,
    },
  };
}

/**
 * The `dataset` of an evaluate or predict job: the model's feature columns must be numeric columns
 * of it; evaluate also needs the target column (default: the model's), whose values the model's
 * classes are checked against as the tasks read them.
 */
export function inferenceDatasetSpec(
  record: DatasetRecord,
  given: Record<string, unknown>,
  model: ModelSummary,
  taskType: "evaluate" | "predict",
): { value: DatasetSpec } | { errors: FieldError[] } {
  const id = record.dataset_id;
  const errors: FieldError[] = [];
  const columns = new Map(record.columns.map((c) => [c.name, c]));
  const missing = model.features.filter((f) => columns.get(f)?.type !== "number");
  if (missing.length > 0) {
    errors.push({
      path: "/dataset/dataset_id",
      message: `${id} lacks the model's numeric feature column(s) ${missing.map((f) => JSON.stringify(f)).join(", ")}`,
    });
  }
  const target = (given.target_column as string | undefined) ?? model.target_column ?? undefined;
  if (taskType === "evaluate" && (target === undefined || !columns.has(target))) {
    errors.push({
      path: "/dataset/target_column",
      message: `evaluate needs the labels: ${JSON.stringify(target)} is not a column of ${id}`,
    });
  }
  if (errors.length > 0) return { errors };
  return {
    value: {
      dataset_id: id,
      ...(taskType === "evaluate" && { target_column: target }),
      samples: record.rows,
      features: model.features.length,
      classes: model.classes.length,
      seed: 0,
      noise: 0,
      content_hash: record.sha256,
    },
  };
}

/** The lookup `parseJobSpec` takes, over records (or their problems) read before. */
export function namedDatasets(
  found: Map<string, DatasetRecord | Error>,
  inference?: { model: ModelSummary; taskType: "evaluate" | "predict" },
): NamedDatasets {
  return (id, given) => {
    const record = found.get(id);
    if (record === undefined) return undefined;
    if (record instanceof Error) {
      return { errors: [{ path: "/dataset/dataset_id", message: record.message }] };
    }
    return inference
      ? inferenceDatasetSpec(record, given, inference.model, inference.taskType)
      : uploadedDatasetSpec(record, given);
  };
}

/** The data set ids a submitted body names (in `dataset` or seed 001's `parameters`). */
export function datasetIdsOf(body: unknown): string[] {
  const b = (typeof body === "object" && body !== null ? body : {}) as {
    dataset?: { dataset_id?: unknown };
    parameters?: { dataset_name?: unknown; dataset?: unknown };
  };
  return [b.dataset?.dataset_id, b.parameters?.dataset_name, b.parameters?.dataset].filter(
    (id): id is string => typeof id === "string",
  );
}
