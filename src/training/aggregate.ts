/**
 * The job-level model, computed in a pool thread: parameter averaging for the linear model and the
 * MLP, the union of the trees for the forest, an ensemble for boosting; evaluated on the held-out
 * split every task shares, and written out as model.json.
 */
import { decode, encode } from "./codec.ts";
import { heldOutSplit, rowOrder } from "./dataset.ts";
import { builtinDataset } from "./datasets/builtin.ts";
import type { DatasetSpec } from "./hyperparameters.ts";
import { holdoutSize } from "./limits.ts";
import { evaluateProbabilities } from "./metrics.ts";
import { encodeModelJson, type ModelJson } from "./model-json.ts";
import type { ModelArtifact } from "./models/model.ts";
import { combine, predict } from "./models/registry.ts";
import { loadTable } from "./tables.ts";
import type { AggregateInput, AggregateResult } from "./types.ts";

export function aggregate(input: AggregateInput): AggregateResult {
  const { dataset } = input;
  if (input.data && dataset.content_hash) {
    loadTable(dataset.content_hash, input.data, { target: dataset.target_column });
  }
  const models = input.models.map((bytes, i) => {
    const model = decode(bytes) as ModelArtifact;
    if (model?.model_type !== input.model_type) {
      throw new RangeError(`model ${i} is not a ${input.model_type} model`);
    }
    if (model.features !== dataset.features || model.classes !== dataset.classes) {
      throw new RangeError(`model ${i} does not fit the dataset's features and classes`);
    }
    return model;
  });
  const model = combine(models);
  const heldOut = heldOutSplit(dataset);
  const { loss, accuracy } = evaluateProbabilities(
    predict(model, heldOut),
    heldOut.y,
    heldOut.n,
    heldOut.classes,
  );
  const named = dataset.dataset_id !== undefined;
  return {
    model_type: input.model_type,
    tasks: models.length,
    metrics: { loss, accuracy, heldout_samples: heldOut.n },
    model: encode(model),
    model_json: encodeModelJson(model, describe(dataset, input.data)),
    ...(named && {
      heldout_rows: Array.from(
        rowOrder(dataset.samples, dataset.seed).subarray(
          0,
          holdoutSize(dataset.samples, dataset.test_fraction),
        ),
      ),
    }),
  };
}

/** What model.json says of the data a model was trained on. */
function describe(
  dataset: DatasetSpec,
  data: Uint8Array | undefined,
): Omit<ModelJson, "format" | "version" | "model_type" | "model"> {
  const identity = {
    mean: new Array<number>(dataset.features).fill(0),
    std: new Array<number>(dataset.features).fill(1),
  };
  if (data && dataset.content_hash) {
    const table = loadTable(dataset.content_hash, data, { target: dataset.target_column });
    return {
      features: table.features,
      classes: table.classes,
      target_column: dataset.target_column ?? null,
      normalisation: table.normalisation,
    };
  }
  const builtin = dataset.dataset_id === undefined ? undefined : builtinDataset(dataset.dataset_id);
  if (builtin) {
    return {
      features: [...builtin.features],
      classes: [...builtin.classes],
      target_column: builtin.target_column,
      normalisation: identity,
    };
  }
  return {
    features: Array.from({ length: dataset.features }, (_, j) => `x${j}`),
    classes: Array.from({ length: dataset.classes }, (_, c) => String(c)),
    target_column: null,
    normalisation: identity,
  };
}
