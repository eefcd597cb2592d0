/**
 * How many of a job's tasks travel, run and are recorded together (a chunk): about `targetMs` of
 * training each, so tiny tasks batch (one queue message, pool post and record for hundreds) and
 * long tasks stay one per message. Pure, but for the calibration a sizer learns from measured
 * chunks.
 */
import { holdoutSize, plannedEpochs, smallestShard } from "../training/limits.ts";
import type { ResolvedTrainingSpec } from "../training/types.ts";

/** Most tasks in one chunk: bounds what one delivery, record and redelivery hold. */
export const MAX_CHUNK_TASKS = 256;
/** A chunk's models together stay under this, so its record fits a NATS message (1 MB). */
const MODEL_BYTES_PER_CHUNK = 600 * 1024;
/** Fixed cost of a task in a pool thread beyond its rows (shard set-up, evaluation, encoding). */
const TASK_OVERHEAD_MS = 0.03;
/** Each observation moves a model type's calibration this far towards what it measured. */
const CALIBRATION_WEIGHT = 0.2;
/** Calibration stays within these factors of the static estimate. */
const CALIBRATION_BOUNDS = [0.1, 10] as const;

/**
 * Estimated milliseconds of one task on one core: rows touched (shard and held-out split, per
 * epoch or tree) times a per-row cost by model family, fitted on this project's training code
 * (a 2-core EPYC VM). Within a factor of two or so; a sizer's calibration corrects the rest.
 */
export function estimateTaskMs(spec: ResolvedTrainingSpec): number {
  const { samples, features, classes } = spec.dataset;
  const fraction = spec.dataset.test_fraction;
  const rows =
    (smallestShard(samples, spec.tasks, fraction) + holdoutSize(samples, fraction)) *
    plannedEpochs(spec);
  return TASK_OVERHEAD_MS + (rows * nsPerRow(spec, features, classes)) / 1e6;
}

function nsPerRow(spec: ResolvedTrainingSpec, features: number, classes: number): number {
  switch (spec.model_type) {
    case "logistic_regression":
    case "svm": // the same pass over the rows, a margin instead of a logit per class
      return 20 * features * classes;
    case "neural_network": {
      const { hidden_units: h, hidden_layers: layers } = spec.hyperparameters;
      return 4.5 * (features * h + (layers - 1) * h * h + h * classes);
    }
    case "random_forest":
      return 7 * Math.sqrt(features) * spec.hyperparameters.max_depth;
    case "xgboost":
      return 7 * features * spec.hyperparameters.max_depth;
  }
}

/** Rough bytes of one task's trained model, as kept in its chunk's record. */
export function estimateModelBytes(spec: ResolvedTrainingSpec): number {
  const { features, classes } = spec.dataset;
  switch (spec.model_type) {
    case "logistic_regression":
    case "svm":
      return 8 * (features + 1) * classes;
    case "neural_network": {
      const { hidden_units: h, hidden_layers: layers } = spec.hyperparameters;
      return 8 * ((features + 1) * h + (layers - 1) * (h + 1) * h + (h + 1) * classes);
    }
    case "random_forest":
    case "xgboost": {
      const shard = smallestShard(spec.dataset.samples, spec.tasks, spec.dataset.test_fraction);
      const nodes = Math.min(2 ** (spec.hyperparameters.max_depth + 1), 2 * shard);
      return spec.hyperparameters.n_trees * nodes * (24 + 8 * classes);
    }
  }
}

/**
 * Tasks per chunk for a job: as many as fit `targetMs` at `taskMs` each, within 1..256, no more
 * than the job has, and few enough that their models fit one record.
 */
export function chunkSize(spec: ResolvedTrainingSpec, taskMs: number, targetMs: number): number {
  const byTime = Math.floor(targetMs / Math.max(taskMs, 1e-3));
  const byBytes = Math.floor(MODEL_BYTES_PER_CHUNK / Math.max(estimateModelBytes(spec), 1));
  return Math.max(1, Math.min(byTime, byBytes, MAX_CHUNK_TASKS, spec.tasks));
}

/** The task indices of each chunk of a job of `tasks` tasks, `size` at a time, in order. */
export function chunksOf(tasks: number, size: number): number[][] {
  const chunks: number[][] = [];
  for (let start = 0; start < tasks; start += size) {
    chunks.push(Array.from({ length: Math.min(size, tasks - start) }, (_, i) => start + i));
  }
  return chunks;
}

/**
 * Sizes chunks from the static estimate, corrected per model type by what this process saw
 * chunks take (their records' measured durations): the estimate's constants were fitted on one
 * machine, and a faster or slower one should still get chunks of about `targetMs`.
 */
export class ChunkSizer {
  readonly #targetMs: number;
  readonly #calibration = new Map<string, number>();

  constructor(targetMs: number) {
    this.#targetMs = targetMs;
  }

  size(spec: ResolvedTrainingSpec): number {
    return chunkSize(spec, this.taskMs(spec), this.#targetMs);
  }

  /** The calibrated estimate of one task, in milliseconds. */
  taskMs(spec: ResolvedTrainingSpec): number {
    return estimateTaskMs(spec) * (this.#calibration.get(spec.model_type) ?? 1);
  }

  /** A chunk of `tasks` tasks of `spec` took `durationMs` in the pool. */
  observe(spec: ResolvedTrainingSpec, tasks: number, durationMs: number): void {
    if (tasks <= 0 || !(durationMs > 0)) return;
    const measured = durationMs / tasks / estimateTaskMs(spec);
    const [low, high] = CALIBRATION_BOUNDS;
    const current = this.#calibration.get(spec.model_type) ?? 1;
    const next = current + CALIBRATION_WEIGHT * (Math.min(high, Math.max(low, measured)) - current);
    this.#calibration.set(spec.model_type, next);
  }
}
