/** What every model family provides to the training loop (`train.ts`) and the aggregation. */
import type { AbortCheck } from "../abort.ts";
import type { Split } from "../dataset.ts";
import type { Evaluation } from "../metrics.ts";
import type { Rng } from "../rng.ts";
import type { ResolvedTaskInput } from "../types.ts";
import type { Tree } from "./tree.ts";

/** Everything a trainer needs: the resolved task, its shard, the held-out split, its stream. */
export interface TrainerContext<Input extends ResolvedTaskInput = ResolvedTaskInput> {
  input: Input;
  train: Split;
  heldOut: Split;
  /** The task's random stream; its state is saved in every checkpoint by the training loop. */
  rng: Rng;
  /** Polled while setting up (binning a large shard takes a while). */
  checkAbort: AbortCheck;
}

export interface EpochOutcome {
  /** Training rows processed. */
  rows: number;
  /** Training objective over the epoch, when the model has one (the forest has none). */
  loss: number | undefined;
}

/** One model being trained: an epoch at a time, checkpointable, evaluable. */
export interface Trainer {
  epoch(checkAbort: AbortCheck): EpochOutcome;
  /** Metrics on the held-out split with the current model. */
  evaluate(): Evaluation;
  /** The model state a checkpoint needs, besides the epoch and the random stream. */
  state(): Record<string, unknown>;
  /** The trained model, compact, without optimizer state. */
  artifact(): ModelArtifact;
}

/** A linear model: `weights` is `outputs × features`, one output for two classes. */
interface LinearModel<M extends string> {
  model_type: M;
  features: number;
  classes: number;
  weights: Float64Array;
  bias: Float64Array;
}

/** Logistic regression. */
export type LinearArtifact = LinearModel<"logistic_regression">;

/** A linear SVM (one output for two classes, else one a class against the rest). */
export type SvmArtifact = LinearModel<"svm">;

/** An MLP: `sizes` are the layer widths, `params` each layer's weights (out × in) then biases. */
export interface NetworkArtifact {
  model_type: "neural_network";
  features: number;
  classes: number;
  sizes: Int32Array;
  params: Float64Array;
}

/** A random forest: the class distributions of its trees' leaves are averaged. */
export interface ForestArtifact {
  model_type: "random_forest";
  features: number;
  classes: number;
  trees: Tree[];
}

/** Boosted trees; several members (one per task) are an ensemble whose margins are averaged. */
export interface BoosterArtifact {
  model_type: "xgboost";
  features: number;
  classes: number;
  members: BoosterMember[];
}

/** One boosted model: `trees[round * outputs + output]`, added to `base`. */
export interface BoosterMember {
  base: Float64Array;
  trees: Tree[];
}

export type ModelArtifact =
  | LinearArtifact
  | NetworkArtifact
  | ForestArtifact
  | BoosterArtifact
  | SvmArtifact;
