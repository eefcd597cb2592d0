/** Small task specs for the training tests: real training, milliseconds a task. */
import type { TaskInput, TrainingCheckpoint, TrainingProgress } from "../../src/training/types.ts";

export const MODEL_TYPES = [
  "logistic_regression",
  "neural_network",
  "random_forest",
  "xgboost",
  "svm",
] as const;

export type ModelType = (typeof MODEL_TYPES)[number];

/** A tiny task of `model_type`: six epochs (or trees) on a few hundred rows. */
export function tinyTask(model_type: ModelType, overrides: Partial<TaskInput> = {}): TaskInput {
  const trees = model_type === "random_forest" || model_type === "xgboost";
  return {
    model_type,
    dataset: { samples: 800, features: 6, classes: 3, seed: 11, noise: 1 },
    epochs: 6,
    tasks: 2,
    task_index: 1,
    hyperparameters: trees ? { n_trees: 6, max_depth: 4 } : { batch_size: 16 },
    ...overrides,
  };
}

/** Collects what a run posts back. */
export function recorder() {
  const progress: TrainingProgress[] = [];
  const checkpoints: TrainingCheckpoint[] = [];
  return {
    progress,
    checkpoints,
    options: {
      onProgress: (p: (typeof progress)[number]) => progress.push(p),
      onCheckpoint: (c: (typeof checkpoints)[number]) => checkpoints.push(c),
    },
  };
}
