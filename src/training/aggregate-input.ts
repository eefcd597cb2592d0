import { Compile } from "typebox/compile";
import Value from "typebox/value";
import { TrainingSpecError } from "../errors.ts";
import { DatasetSchema, type DatasetSpec, ModelTypeSchema } from "./hyperparameters.ts";
import type { AggregateInput } from "./types.ts";

const MODEL_TYPE = Compile(ModelTypeSchema);
const DATASET = Compile(DatasetSchema);

/** Checks the input and returns its dataset with defaults applied. */
export function checkAggregateInput(input: AggregateInput): DatasetSpec {
  if (!MODEL_TYPE.Check(input.model_type)) {
    throw new TrainingSpecError("/model_type", "must be a known model type");
  }
  // An uploaded data set's content hash is the pool's own field, not the schema's.
  const { content_hash, ...given } = input.dataset ?? {};
  const dataset = Value.Default(DatasetSchema, structuredClone(given));
  // A job's dataset was checked at submit: the compiled check passes it at once.
  const [first] = DATASET.Check(dataset) ? [] : Value.Errors(DatasetSchema, dataset);
  if (first) throw new TrainingSpecError(`/dataset${first.instancePath}`, first.message);
  if (content_hash !== undefined) return { ...(dataset as DatasetSpec), content_hash };
  if (!Array.isArray(input.models) || input.models.length === 0 || input.models.length > 1000) {
    throw new TrainingSpecError("/models", "must hold 1..1000 task models");
  }
  input.models.forEach((model, i) => {
    if (!(model instanceof Uint8Array)) {
      throw new TrainingSpecError(`/models/${i}`, "must be bytes (TaskResult.model)");
    }
  });
  return dataset as DatasetSpec;
}
