/**
 * The job-level model, computed in a pool thread: parameter averaging for the linear model and the
 * MLP, the union of the trees for the forest, an ensemble for boosting; evaluated on the held-out
 * split every task shares.
 */
import { decode, encode } from "./codec.ts";
import { heldOutSplit } from "./dataset.ts";
import { evaluateProbabilities } from "./metrics.ts";
import type { ModelArtifact } from "./models/model.ts";
import { combine, predict } from "./models/registry.ts";
import type { AggregateInput, AggregateResult } from "./types.ts";

export function aggregate(input: AggregateInput): AggregateResult {
  const models = input.models.map((bytes, i) => {
    const model = decode(bytes) as ModelArtifact;
    if (model?.model_type !== input.model_type) {
      throw new RangeError(`model ${i} is not a ${input.model_type} model`);
    }
    if (model.features !== input.dataset.features || model.classes !== input.dataset.classes) {
      throw new RangeError(`model ${i} does not fit the dataset's features and classes`);
    }
    return model;
  });
  const model = combine(models);
  const heldOut = heldOutSplit(input.dataset);
  const { loss, accuracy } = evaluateProbabilities(
    predict(model, heldOut),
    heldOut.y,
    heldOut.n,
    heldOut.classes,
  );
  return {
    model_type: input.model_type,
    tasks: models.length,
    metrics: { loss, accuracy, heldout_samples: heldOut.n },
    model: encode(model),
  };
}
