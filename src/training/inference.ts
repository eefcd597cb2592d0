/**
 * `evaluate` and `predict` tasks (DESIGN §5.1), in a pool thread: a trained model (its model.json)
 * on one shard of a data set, the rows in file order. What a task found travels in its result's
 * `model` bytes (an InferenceOutput), which the job's owner combines into the job's artifacts.
 */
import { encode } from "./codec.ts";
import { evaluateProbabilities } from "./metrics.ts";
import { decodeModelJson } from "./model-json.ts";
import { predict } from "./models/registry.ts";
import { loadTable } from "./tables.ts";
import type { ResolvedTrainingSpec, TaskResult } from "./types.ts";

/** One task's findings: a confusion matrix (evaluate), or its rows' predictions (predict). */
export type InferenceOutput =
  | { kind: "evaluate"; rows: number; loss_sum: number; confusion: Int32Array }
  | { kind: "predict"; first_row: number; labels: Uint8Array; probabilities: Float32Array };

/** Rows `[start, end)` of task `taskIndex`: every row is some task's, in file order. */
export function inferenceRange(rows: number, taskIndex: number, tasks: number): [number, number] {
  return [Math.floor((taskIndex * rows) / tasks), Math.floor(((taskIndex + 1) * rows) / tasks)];
}

export function infer(
  spec: ResolvedTrainingSpec,
  taskIndex: number,
  data: Uint8Array | undefined,
  modelJson: string | undefined,
): TaskResult {
  const started = performance.now();
  const { dataset } = spec;
  if (!data || !modelJson || !dataset.content_hash) {
    throw new RangeError(`${spec.task_type} needs an uploaded data set and a model.json`);
  }
  const json = decodeModelJson(modelJson);
  const evaluate = spec.task_type === "evaluate";
  const table = loadTable(dataset.content_hash, data, {
    target: evaluate ? dataset.target_column : undefined,
    features: json.features,
    classes: json.classes,
    normalisation: json.normalisation,
  });
  const [start, end] = inferenceRange(table.rows, taskIndex, spec.tasks);
  const d = json.features.length;
  const k = json.classes.length;
  const n = end - start;
  const y = table.y.subarray(start, end);
  const proba = predict(json.model, {
    x: table.x.subarray(start * d, end * d),
    y,
    n,
    features: d,
    classes: k,
  });
  const labels = new Uint8Array(n);
  for (let r = 0; r < n; r++) {
    let best = 0;
    for (let c = 1; c < k; c++)
      if ((proba[r * k + c] as number) > (proba[r * k + best] as number)) best = c;
    labels[r] = best;
  }
  const scored = evaluate ? evaluateProbabilities(proba, y, n, k) : { loss: 0, accuracy: 0 };
  let output: InferenceOutput;
  if (evaluate) {
    const confusion = new Int32Array(k * k);
    for (let r = 0; r < n; r++) {
      const cell = (y[r] as number) * k + (labels[r] as number);
      confusion[cell] = (confusion[cell] as number) + 1;
    }
    output = { kind: "evaluate", rows: n, loss_sum: scored.loss * n, confusion };
  } else {
    output = { kind: "predict", first_row: start, labels, probabilities: Float32Array.from(proba) };
  }
  const ms = performance.now() - started;
  return {
    model_type: spec.model_type,
    task_index: taskIndex,
    epochs: 1,
    resumed_from_epoch: 0,
    metrics: {
      loss: scored.loss,
      accuracy: scored.accuracy,
      heldout_loss: scored.loss,
      samples_per_s: n / Math.max(ms / 1000, 1e-9),
      train_samples: n,
      heldout_samples: 0,
      duration_ms: ms,
    },
    history: [
      { epoch: 1, loss: scored.loss, accuracy: scored.accuracy, heldout_loss: scored.loss },
    ],
    model: encode(output),
  };
}
