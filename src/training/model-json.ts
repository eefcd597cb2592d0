/**
 * `model.json` (DESIGN §5.1): a trained model in a versioned, documented JSON form — the model's
 * parameters (typed arrays as plain number arrays), its feature names, their standardisation and
 * its class labels — enough to predict without Troupe. Plain code: pool threads import it.
 */
import type { ModelArtifact } from "./models/model.ts";
import type { Normalisation } from "./tables.ts";

export const MODEL_FORMAT = "troupe-model";
export const MODEL_VERSION = 1;

export interface ModelJson {
  format: typeof MODEL_FORMAT;
  version: typeof MODEL_VERSION;
  model_type: ModelArtifact["model_type"];
  /** Feature names in input order (`x0`… for synthetic data). */
  features: string[];
  /** Class labels by class id. */
  classes: string[];
  target_column: string | null;
  /** Inputs are standardised, `(x - mean) / std`, before the model sees them. */
  normalisation: Normalisation;
  /** The parameters; see README "model.json" for each model type's fields. */
  model: unknown;
}

/** Fields stored as typed arrays in the models, by name. */
const TYPED: Record<string, new (values: number[]) => ArrayLike<number>> = {
  weights: Float64Array,
  bias: Float64Array,
  params: Float64Array,
  sizes: Int32Array,
  base: Float64Array,
  feature: Int32Array,
  threshold: Float32Array,
  left: Int32Array,
  right: Int32Array,
  value: Float32Array,
};

export function encodeModelJson(
  model: ModelArtifact,
  info: Omit<ModelJson, "format" | "version" | "model_type" | "model">,
): string {
  const json: ModelJson = {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    model_type: model.model_type,
    ...info,
    model,
  };
  return JSON.stringify(json, (_key, value) =>
    ArrayBuffer.isView(value) ? Array.from(value as unknown as ArrayLike<number>) : value,
  );
}

/** Reads model.json back into a model the predictors take. */
export function decodeModelJson(text: string): ModelJson & { model: ModelArtifact } {
  const json = JSON.parse(text, (key, value) => {
    const typed = TYPED[key];
    return typed && Array.isArray(value) ? new typed(value) : value;
  }) as ModelJson & { model: ModelArtifact };
  if (json.format !== MODEL_FORMAT || json.version !== MODEL_VERSION) {
    throw new RangeError(`not a ${MODEL_FORMAT} version ${MODEL_VERSION} file`);
  }
  return json;
}
