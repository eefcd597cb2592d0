/**
 * One task's training loop, run inside a pool thread: load the shard and the held-out split,
 * start fresh or from a checkpoint, then per epoch train, evaluate, report progress and checkpoint.
 */
import type { AbortCheck } from "./abort.ts";
import { decodeCheckpoint, encodeCheckpoint, fingerprint, historyRecords } from "./checkpoint.ts";
import { encode } from "./codec.ts";
import { heldOutSplit, trainingShard } from "./dataset.ts";
import { plannedEpochs } from "./limits.ts";
import { families } from "./models/registry.ts";
import { Rng, Stream } from "./rng.ts";
import type {
  ResolvedTaskInput,
  TaskResult,
  TrainingCheckpoint,
  TrainingProgress,
} from "./types.ts";

export interface TrainHooks {
  checkAbort: AbortCheck;
  onProgress(progress: TrainingProgress): void;
  /** After every epoch but the last. */
  onCheckpoint(checkpoint: TrainingCheckpoint): void;
}

export function train(input: ResolvedTaskInput, hooks: TrainHooks): TaskResult {
  const started = performance.now();
  const epochs = plannedEpochs(input);
  // A checkpoint of another spec fails before any data is generated.
  const saved = input.checkpoint ? decodeCheckpoint(input.checkpoint, input) : undefined;
  const train = trainingShard(input.dataset, input.task_index, input.tasks, hooks.checkAbort);
  const heldOut = heldOutSplit(input.dataset, hooks.checkAbort);
  const family = families[input.model_type];
  const rng = saved
    ? Rng.fromState(saved.rng)
    : new Rng(input.dataset.seed, Stream.task, input.task_index);
  const trainer = family.trainer(
    { input, train, heldOut, rng, checkAbort: hooks.checkAbort },
    saved?.state,
  );
  const resumedFrom = saved?.epoch ?? 0;
  const history: number[] = saved ? Array.from(saved.history) : [];
  const print = fingerprint(input);
  let trainedRows = 0;
  let trainedMs = 0;
  for (let epoch = resumedFrom + 1; epoch <= epochs; epoch++) {
    hooks.checkAbort();
    const t0 = performance.now();
    const outcome = trainer.epoch(hooks.checkAbort);
    const ms = performance.now() - t0;
    trainedRows += outcome.rows;
    trainedMs += ms;
    const evaluation = trainer.evaluate();
    const loss = outcome.loss ?? evaluation.loss;
    history.push(loss, evaluation.accuracy, evaluation.loss);
    hooks.onProgress({
      task_index: input.task_index,
      epoch,
      epochs,
      loss,
      accuracy: evaluation.accuracy,
      heldout_loss: evaluation.loss,
      samples_per_s: outcome.rows / Math.max(ms / 1000, 1e-9),
    });
    // The last epoch's checkpoint would resume nothing: the result replaces it.
    if (epoch === epochs) break;
    const bytes = encodeCheckpoint({
      model_type: input.model_type,
      fingerprint: print,
      epoch,
      rng: rng.state(),
      history: Float64Array.from(history),
      state: trainer.state(),
    });
    hooks.onCheckpoint({ task_index: input.task_index, epoch, bytes });
  }
  const records = historyRecords(Float64Array.from(history));
  const last = records[records.length - 1];
  const evaluation = last ? undefined : trainer.evaluate();
  return {
    model_type: input.model_type,
    task_index: input.task_index,
    epochs: records.length,
    resumed_from_epoch: resumedFrom,
    metrics: {
      loss: last?.loss ?? evaluation?.loss ?? 0,
      accuracy: last?.accuracy ?? evaluation?.accuracy ?? 0,
      heldout_loss: last?.heldout_loss ?? evaluation?.loss ?? 0,
      samples_per_s: trainedMs > 0 ? trainedRows / (trainedMs / 1000) : 0,
      train_samples: train.n,
      heldout_samples: heldOut.n,
      duration_ms: performance.now() - started,
    },
    history: records,
    model: encode(trainer.artifact()),
  };
}
