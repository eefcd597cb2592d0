import type { JobRecord } from "../jobs/job-record.ts";
import { decode } from "../training/codec.ts";
import type { InferenceOutput } from "../training/inference.ts";
import type { TaskOutcome } from "../workers/chunk-message.ts";
import type { ModelSummary } from "./model-files.ts";

/** An evaluate or predict job's files, from its tasks' findings (in task order). */
export function inferenceFiles(
  record: JobRecord,
  outcomes: [number, TaskOutcome][],
  model: ModelSummary,
): { metrics: JobRecord["metrics"]; files: Record<string, string> } | undefined {
  const outputs: InferenceOutput[] = [];
  for (const [, outcome] of outcomes) {
    if (!outcome.model) return undefined;
    outputs.push(decode(outcome.model) as InferenceOutput);
  }
  const k = model.classes.length;
  const base = {
    job_id: record.job_id,
    task_type: record.spec.task_type,
    model_job_id: record.spec.model?.job_id,
    model_type: record.model_type,
    dataset_id: record.spec.dataset.dataset_id,
    classes: model.classes,
  };
  if (record.spec.task_type === "evaluate") {
    const confusion = new Array<number>(k * k).fill(0);
    let rows = 0;
    let lossSum = 0;
    for (const output of outputs) {
      if (output.kind !== "evaluate") return undefined;
      rows += output.rows;
      lossSum += output.loss_sum;
      output.confusion.forEach((count, i) => {
        confusion[i] = (confusion[i] as number) + count;
      });
    }
    let right = 0;
    for (let c = 0; c < k; c++) right += confusion[c * k + c] as number;
    const metrics = { loss: lossSum / rows, accuracy: right / rows };
    const matrix = Array.from({ length: k }, (_, c) => confusion.slice(c * k, (c + 1) * k));
    return {
      metrics,
      files: {
        "metrics.json": JSON.stringify(
          { ...base, rows, ...metrics, confusion_matrix: matrix, confusion_rows: "true class" },
          null,
          2,
        ),
      },
    };
  }
  const lines = [`row,prediction,${model.classes.map((c) => `p_${csvCell(c)}`).join(",")}`];
  let rows = 0;
  for (const output of outputs) {
    if (output.kind !== "predict") return undefined;
    output.labels.forEach((label, r) => {
      const p = Array.from(output.probabilities.subarray(r * k, (r + 1) * k));
      lines.push(
        `${output.first_row + r},${csvCell(model.classes[label] as string)},${p.join(",")}`,
      );
    });
    rows += output.labels.length;
  }
  return {
    metrics: { loss: null, accuracy: null },
    files: {
      "predictions.csv": `${lines.join("\n")}\n`,
      "metrics.json": JSON.stringify({ ...base, rows }, null, 2),
    },
  };
}

function csvCell(text: string): string {
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
