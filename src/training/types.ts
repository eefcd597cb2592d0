/**
 * The data that crosses between the main thread and the pool threads. Type-only imports keep the
 * schema library out of the threads.
 */
import type { ErrorData } from "../errors.ts";
import type { DatasetSpec, HyperparametersByModel } from "./hyperparameters.ts";
import type { ModelType } from "./limits.ts";

/** The training part of a job spec, as submitted (defaults not yet applied). */
export interface TrainingSpecInput {
  model_type: ModelType;
  dataset?: Partial<DatasetSpec>;
  /** Gradient models only; tree models count epochs with `hyperparameters.n_trees`. */
  epochs?: number;
  tasks?: number;
  hyperparameters?: Record<string, unknown>;
}

/** One task of a job: shard `task_index` of `tasks`, optionally resumed from a checkpoint. */
export interface TaskInput extends TrainingSpecInput {
  task_index: number;
  checkpoint?: Uint8Array;
}

/**
 * Several tasks of one job, trained one after the other in one pool thread (one post, one reply).
 * `spec` was validated when the job was submitted: the thread takes it as it is.
 */
export interface ChunkInput {
  spec: ResolvedTrainingSpec;
  tasks: { task_index: number; checkpoint?: Uint8Array }[];
  /** An uploaded data set's CSV bytes, over shared memory (the same for every task). */
  data?: Uint8Array | undefined;
  /** `evaluate` and `predict`: the model.json they use. */
  model_json?: string | undefined;
}

/**
 * What each task of a chunk came to, in the chunk's order, up to the task it stopped at: an abort
 * (cancel, timeout, drain) ends the chunk with that task's `TROUPE_ERR_TRAINING_ABORTED` (or
 * `TROUPE_ERR_TASK_TIMEOUT`), and the tasks after it did not start.
 */
export type ChunkResult = ({ ok: true; value: TaskResult } | { ok: false; error: ErrorData })[];

/** What a job's tasks do (DESIGN §5.1): train (default), or use a trained model on data. */
export type TaskType = "train" | "evaluate" | "predict";

/** A training spec with every default applied and every bound checked. */
export type ResolvedTrainingSpec = {
  [M in ModelType]: {
    model_type: M;
    dataset: DatasetSpec;
    epochs: number;
    tasks: number;
    hyperparameters: HyperparametersByModel[M];
    /** Absent: train. `evaluate` and `predict` shard the data set over the tasks, in file order. */
    task_type?: Exclude<TaskType, "train">;
    /** The completed training job whose model.json `evaluate` and `predict` use. */
    model?: { job_id: string };
  };
}[ModelType];

export type ResolvedTaskInput = ResolvedTrainingSpec & {
  task_index: number;
  checkpoint?: Uint8Array;
};

/** Posted after every epoch (a tree for the forest, a round for boosting). */
export interface TrainingProgress {
  task_index: number;
  /** 1-based epoch just finished. */
  epoch: number;
  /** Epochs of the whole task. */
  epochs: number;
  /**
   * Training loss: mean cross-entropy over the epoch's mini-batches (gradient models), over the
   * shard after the round (boosting); held-out log-loss for the forest (it has no objective).
   */
  loss: number;
  /** Accuracy on the held-out split. */
  accuracy: number;
  /** Log-loss on the held-out split. */
  heldout_loss: number;
  /** Training rows processed per second during this epoch (evaluation excluded). */
  samples_per_s: number;
}

/** A checkpoint as posted after every epoch: the bytes restart the task at `epoch + 1`. */
export interface TrainingCheckpoint {
  task_index: number;
  epoch: number;
  bytes: Uint8Array;
}

/** One epoch of a task's deterministic history. */
export interface EpochRecord {
  epoch: number;
  loss: number;
  accuracy: number;
  heldout_loss: number;
}

/** What a finished task returns. Everything but the timings is deterministic by spec and seed. */
export interface TaskResult {
  model_type: ModelType;
  task_index: number;
  /** Epochs completed, resumed ones included. */
  epochs: number;
  /** The epoch this run resumed after (0 when it started fresh). */
  resumed_from_epoch: number;
  metrics: {
    loss: number;
    accuracy: number;
    heldout_loss: number;
    /** Mean over the epochs this run trained (0 if it trained none). */
    samples_per_s: number;
    train_samples: number;
    heldout_samples: number;
    duration_ms: number;
  };
  history: EpochRecord[];
  /** The trained model (msgpack); `aggregate` combines the models of a job's tasks. */
  model: Uint8Array;
}

/** Input of the job-level aggregation. */
export interface AggregateInput {
  model_type: ModelType;
  dataset: DatasetSpec;
  /** `TaskResult.model` of each task. */
  models: Uint8Array[];
  /** An uploaded data set's CSV bytes (see ChunkInput.data). */
  data?: Uint8Array | undefined;
}

/** The job-level model and its metrics on the shared held-out split. */
export interface AggregateResult {
  model_type: ModelType;
  tasks: number;
  metrics: { loss: number; accuracy: number; heldout_samples: number };
  model: Uint8Array;
  /** The model as model.json (DESIGN §5.1). */
  model_json: string;
  /** Rows held out, as 0-based data rows of the file (uploaded and built-in data sets). */
  heldout_rows?: number[];
}

/** Rows to predict with a model.json. */
export interface PredictInput {
  model_json: string;
  rows: number[][];
}

export interface PredictResult {
  /** Class labels, one a row. */
  predictions: string[];
  /** Class probabilities, one array a row, in `classes` order. */
  probabilities: number[][];
  classes: string[];
}
