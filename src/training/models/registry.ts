/** The model families by `model_type`: how to train, predict and combine each. */
import type { Split } from "../dataset.ts";
import type { ModelType } from "../limits.ts";
import { createBoosterTrainer, ensembleBoosters, predictBooster } from "./gradient-boosting.ts";
import { averageLinear, createLinearTrainer, predictLinear } from "./logistic-regression.ts";
import { averageNetworks, createNetworkTrainer, predictNetwork } from "./mlp.ts";
import type { ModelArtifact, Trainer, TrainerContext } from "./model.ts";
import { createForestTrainer, predictForest, uniteForests } from "./random-forest.ts";
import { createSvmTrainer } from "./svm.ts";

type ArtifactOf<M extends ModelType> = Extract<ModelArtifact, { model_type: M }>;

interface Family<M extends ModelType> {
  /** A fresh trainer, or one restored from a checkpoint's model state. */
  trainer(ctx: TrainerContext, saved?: Record<string, unknown>): Trainer;
  predict(model: ArtifactOf<M>, split: Split): Float64Array;
  /** The job-level model from the tasks' models. */
  combine(models: ArtifactOf<M>[]): ArtifactOf<M>;
}

export const families: { readonly [M in ModelType]: Family<M> } = Object.freeze({
  logistic_regression: {
    trainer: createLinearTrainer,
    predict: predictLinear,
    combine: averageLinear,
  },
  neural_network: {
    trainer: createNetworkTrainer,
    predict: predictNetwork,
    combine: averageNetworks,
  },
  random_forest: { trainer: createForestTrainer, predict: predictForest, combine: uniteForests },
  xgboost: { trainer: createBoosterTrainer, predict: predictBooster, combine: ensembleBoosters },
  svm: { trainer: createSvmTrainer, predict: predictLinear, combine: averageLinear },
});

/** Class probabilities of `split` under any model. */
export function predict(model: ModelArtifact, split: Split): Float64Array {
  const family = families[model.model_type] as Family<ModelType>;
  return family.predict(model, split);
}

/** Combines models of one type. */
export function combine(models: ModelArtifact[]): ModelArtifact {
  const first = models[0];
  if (first === undefined) throw new RangeError("no models to combine");
  const family = families[first.model_type] as Family<ModelType>;
  return family.combine(models);
}
