/**
 * Checkpoints: after each epoch, everything a task needs to continue as if never stopped — the
 * model state (parameters and optimizer moments, or trees), the epoch, the task's random stream
 * and its metric history — in msgpack with typed arrays. A fingerprint of the spec (epochs
 * excepted) guards against resuming another task's state.
 */
import { CheckpointError } from "../errors.ts";
import { decode, encode } from "./codec.ts";
import type { ModelType } from "./limits.ts";
import type { EpochRecord, ResolvedTaskInput } from "./types.ts";

const VERSION = 1;

export interface CheckpointData {
  model_type: ModelType;
  fingerprint: string;
  /** Epochs completed. */
  epoch: number;
  rng: Uint32Array;
  /** Per epoch: loss, accuracy, held-out loss. */
  history: Float64Array;
  state: Record<string, unknown>;
}

/** Identifies what a checkpoint may resume: same model, data, hyperparameters and shard. */
export function fingerprint(input: ResolvedTaskInput): string {
  return stableJson({
    model_type: input.model_type,
    dataset: input.dataset,
    hyperparameters: input.hyperparameters,
    task_index: input.task_index,
    tasks: input.tasks,
  });
}

function stableJson(value: unknown): string {
  if (typeof value !== "object" || value === null) return JSON.stringify(value);
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
    a < b ? -1 : 1,
  );
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
}

export function encodeCheckpoint(data: CheckpointData): Uint8Array {
  return encode({ v: VERSION, ...data });
}

/** Decodes a checkpoint and checks that it belongs to `input`. */
export function decodeCheckpoint(bytes: Uint8Array, input: ResolvedTaskInput): CheckpointData {
  let data: (CheckpointData & { v: number }) | undefined;
  try {
    data = decode(bytes) as CheckpointData & { v: number };
  } catch (error) {
    throw new CheckpointError(`checkpoint is not readable: ${(error as Error).message}`);
  }
  if (typeof data !== "object" || data === null || data.v !== VERSION) {
    throw new CheckpointError(`checkpoint version is not ${VERSION}`);
  }
  if (data.model_type !== input.model_type || data.fingerprint !== fingerprint(input)) {
    throw new CheckpointError("checkpoint belongs to another task spec");
  }
  if (
    !(data.rng instanceof Uint32Array) ||
    !(data.history instanceof Float64Array) ||
    data.history.length !== data.epoch * 3
  ) {
    throw new CheckpointError("checkpoint is malformed");
  }
  return data;
}

export function historyRecords(history: Float64Array): EpochRecord[] {
  const records: EpochRecord[] = [];
  for (let e = 0; e * 3 < history.length; e++) {
    records.push({
      epoch: e + 1,
      loss: history[e * 3] as number,
      accuracy: history[e * 3 + 1] as number,
      heldout_loss: history[e * 3 + 2] as number,
    });
  }
  return records;
}
