/**
 * Bounds shared by the schemas (main thread) and the training code (pool threads). Plain numbers:
 * this module must stay importable from a worker thread without pulling in the schema library.
 */
import type { ResolvedTrainingSpec } from "./types.ts";

/** Largest `samples × features` a job may ask for: 10 M cells is 40 MB of float32 per copy. */
export const MAX_DATA_CELLS = 10_000_000;

/** Held-out rows: a fifth of the samples, at most this many (enough for a ±1 % accuracy). */
export const MAX_HOLDOUT_SAMPLES = 5_000;

/** Every task must train on at least this many rows. */
export const MIN_SHARD_SAMPLES = 10;

/** Largest neural network, in parameters (weights and biases): 16 MB of float64 per copy. */
export const MAX_NETWORK_PARAMETERS = 2_000_000;

/**
 * Largest tree ensemble, in stored numbers (per node: feature, threshold, children and one value
 * per output), estimated from the worst case `min(2^(max_depth+1), 2 × shard rows)` nodes a tree.
 */
export const MAX_ENSEMBLE_NUMBERS = 50_000_000;

/** The model families Troupe trains. */
export const MODEL_TYPES = Object.freeze([
  "logistic_regression",
  "neural_network",
  "random_forest",
  "xgboost",
  "svm",
] as const);

export type ModelType = (typeof MODEL_TYPES)[number];

/**
 * Number of held-out rows for a dataset of `samples` rows: `test_fraction` of them when the spec
 * gives one, else a fifth, at most MAX_HOLDOUT_SAMPLES.
 */
export function holdoutSize(samples: number, testFraction?: number): number {
  if (testFraction !== undefined) return Math.max(1, Math.round(samples * testFraction));
  return Math.min(Math.ceil(samples / 5), MAX_HOLDOUT_SAMPLES);
}

/** Row range `[start, end)` of task `taskIndex`'s training shard; held-out rows come first. */
export function shardRange(
  samples: number,
  taskIndex: number,
  tasks: number,
  testFraction?: number,
): [number, number] {
  const holdout = holdoutSize(samples, testFraction);
  const train = samples - holdout;
  return [
    holdout + Math.floor((taskIndex * train) / tasks),
    holdout + Math.floor(((taskIndex + 1) * train) / tasks),
  ];
}

/** Smallest training shard over the tasks of a job. */
export function smallestShard(samples: number, tasks: number, testFraction?: number): number {
  return Math.floor((samples - holdoutSize(samples, testFraction)) / tasks);
}

/** Epochs a task runs: `epochs` for gradient models, `n_trees` (one tree or round each) for trees. */
export function plannedEpochs(spec: ResolvedTrainingSpec): number {
  return spec.model_type === "random_forest" || spec.model_type === "xgboost"
    ? spec.hyperparameters.n_trees
    : spec.epochs;
}
