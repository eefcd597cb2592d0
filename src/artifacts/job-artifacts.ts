import type { DatasetRecord } from "../contract/datasets.ts";
import { datasetObject } from "../contract/datasets.ts";
import type { JobRecord } from "../jobs/job-record.ts";
import type { Logger } from "../log.ts";
import type { TrainingPool } from "../training/pool.ts";
import type { AggregateResult } from "../training/types.ts";
import type { BlobStore } from "../transport/ports.ts";
import type { TaskOutcome } from "../workers/chunk-message.ts";
import type { DatasetBytes } from "./dataset-bytes.ts";
import { inferenceFiles } from "./inference-artifacts.ts";
import type { ModelFiles } from "./model-files.ts";

const encoder = new TextEncoder();

/**
 * A completed job's artifacts (DESIGN §5.1), in the order they are written: metrics.json last, so
 * that a set with it is complete. Training jobs write a model, predict jobs predictions.
 */
export const ARTIFACT_NAMES = [
  "spec.json",
  "history.csv",
  "model.json",
  "predictions.csv",
  "metrics.json",
] as const;
export type ArtifactName = (typeof ARTIFACT_NAMES)[number];

/** The object of a job's artifact. */
export function artifactObject(jobId: string, name: string): string {
  return `${jobId}/${name}`;
}

export interface JobArtifactsDeps {
  store: BlobStore;
  bytes: DatasetBytes;
  models: ModelFiles;
  /** Called between two artifacts (test-only fault injection: a crash mid-way). */
  between?: (written: number) => void;
}

/**
 * At the end of a completed job, in its owner: aggregates the tasks' models into the job's
 * model (in the pool) and stores the artifacts, each one only if it is not there yet — so an
 * owner killed half-way leaves a set the next owner completes, never a second one (an object put
 * is replaced whole, and the record says COMPLETED only once all are stored). Answers the job's
 * metrics; undefined when a model was too large to keep or aggregation failed.
 */
export async function storeJobArtifacts(
  deps: JobArtifactsDeps,
  pool: Pick<TrainingPool, "aggregate">,
  record: JobRecord,
  outcomes: [number, TaskOutcome][],
  log: Logger,
): Promise<JobRecord["metrics"] | undefined> {
  if (record.spec.task_type) return storeInferenceArtifacts(deps, record, outcomes, log);
  const models = outcomes.map(([, o]) => o.model);
  if (models.some((m) => m === null)) return undefined;
  const { dataset } = record.spec;
  let result: AggregateResult;
  try {
    const data = dataset.content_hash
      ? await deps.bytes.load(datasetObject(dataset.dataset_id as string), dataset.content_hash)
      : undefined;
    result = await pool.aggregate({
      model_type: record.model_type,
      dataset,
      models: models as Uint8Array[],
      data,
    });
  } catch (error) {
    log.warn({ err: error }, "aggregation failed; reporting the tasks' mean metrics");
    return undefined;
  }
  await writeOnce(deps, record, {
    "spec.json": JSON.stringify(record.spec, null, 2),
    "history.csv": historyCsv(outcomes),
    "model.json": result.model_json,
    "metrics.json": metricsJson(record, result),
  });
  return { loss: result.metrics.loss, accuracy: result.metrics.accuracy };
}

async function storeInferenceArtifacts(
  deps: JobArtifactsDeps,
  record: JobRecord,
  outcomes: [number, TaskOutcome][],
  log: Logger,
): Promise<JobRecord["metrics"] | undefined> {
  const model = record.spec.model && (await deps.models.get(record.spec.model.job_id));
  const found = model && inferenceFiles(record, outcomes, model.summary);
  if (!found) {
    log.warn("a task's findings were too large to keep: no artifacts (use more tasks)");
    return undefined;
  }
  await writeOnce(deps, record, {
    "spec.json": JSON.stringify(record.spec, null, 2),
    "history.csv": historyCsv(outcomes),
    ...found.files,
  });
  return found.metrics;
}

/** Stores each file the job does not have yet, in ARTIFACT_NAMES order. */
async function writeOnce(
  deps: JobArtifactsDeps,
  record: JobRecord,
  files: Partial<Record<ArtifactName, string>>,
): Promise<void> {
  let written = 0;
  for (const name of ARTIFACT_NAMES) {
    const text = files[name];
    if (text === undefined) continue;
    deps.between?.(written);
    if (await deps.store.create(artifactObject(record.job_id, name), encoder.encode(text))) {
      written++;
    }
  }
}

function historyCsv(outcomes: [number, TaskOutcome][]): string {
  const lines = ["task,epoch,loss,accuracy,validation_loss"];
  outcomes.forEach(([task, outcome]) => {
    const h = outcome.history ?? [];
    for (let e = 0; e * 3 < h.length; e++) {
      lines.push(`${task},${e + 1},${h[e * 3]},${h[e * 3 + 1]},${h[e * 3 + 2]}`);
    }
  });
  return `${lines.join("\n")}\n`;
}

function metricsJson(record: JobRecord, result: AggregateResult): string {
  const model = JSON.parse(result.model_json) as Pick<DatasetRecord, "features"> & {
    classes: string[];
    target_column: string | null;
  };
  return JSON.stringify(
    {
      job_id: record.job_id,
      model_type: record.model_type,
      tasks: result.tasks,
      loss: result.metrics.loss,
      accuracy: result.metrics.accuracy,
      heldout_samples: result.metrics.heldout_samples,
      dataset_id: record.spec.dataset.dataset_id ?? null,
      target_column: model.target_column,
      features: model.features,
      classes: model.classes,
      ...(result.heldout_rows && { heldout_rows: result.heldout_rows }),
    },
    null,
    2,
  );
}
