/** Predictions from a model.json, in a pool thread (the predict route). */
import { decodeModelJson } from "./model-json.ts";
import { predict } from "./models/registry.ts";
import type { PredictInput, PredictResult } from "./types.ts";

export function predictRows(input: PredictInput): PredictResult {
  const { model, classes, normalisation } = decodeModelJson(input.model_json);
  const d = model.features;
  const n = input.rows.length;
  const x = new Float32Array(n * d);
  input.rows.forEach((row, r) => {
    if (row.length !== d)
      throw new RangeError(`row ${r} has ${row.length} values; the model takes ${d}`);
    for (let j = 0; j < d; j++) {
      x[r * d + j] =
        ((row[j] as number) - (normalisation.mean[j] as number)) / (normalisation.std[j] as number);
    }
  });
  const k = model.classes;
  const proba = predict(model, { x, y: new Uint8Array(n), n, features: d, classes: k });
  const predictions: string[] = [];
  const probabilities: number[][] = [];
  for (let r = 0; r < n; r++) {
    const p = Array.from(proba.subarray(r * k, (r + 1) * k));
    let best = 0;
    for (let c = 1; c < k; c++) if ((p[c] as number) > (p[best] as number)) best = c;
    predictions.push(classes[best] as string);
    probabilities.push(p);
  }
  return { predictions, probabilities, classes };
}
