import { pack, unpack } from "msgpackr";
import type { Priority } from "../contract/priorities.ts";
import type { ResolvedTrainingSpec } from "../training/types.ts";

/**
 * A queued chunk: up to a few hundred tasks of one job that travel, run and are recorded together
 * (one queue message, one pool post, one result record per attempt). Everything a worker needs
 * to run them is in it, so starting one reads nothing else.
 */
export interface ChunkMessage {
  job_id: string;
  /** The chunk's number within its job (its key in the results and tasks buckets). */
  chunk: number;
  /** The task indices it holds, in the order they run. */
  tasks: number[];
  priority: Priority;
  user_id: string;
  /** The job's training spec, validated at submit: threads take it as it is. */
  spec: ResolvedTrainingSpec;
  max_attempts: number;
  backoff_ms: number;
  /** Queued again by a resume (its nth): run as a redelivery, from its records and checkpoints. */
  resumed?: number;
}

export function encodeChunk(chunk: ChunkMessage): Uint8Array {
  return pack(chunk);
}

export function decodeChunk(data: Uint8Array): ChunkMessage {
  return unpack(data) as ChunkMessage;
}

/** A chunk's key in the tasks bucket (its delivery counts) and its queue message id. */
export function chunkKey(jobId: string, chunk: number): string {
  return `${jobId}.${chunk}`;
}

/** A task's checkpoints bucket key. */
export function taskKey(jobId: string, taskIndex: number): string {
  return `${jobId}.${taskIndex}`;
}

/** The one recorded outcome of a task, kept in the record of the generation that ran it last. */
export interface TaskOutcome {
  status: "COMPLETED" | "FAILED";
  attempt: number;
  worker_id: string;
  finished_at: string;
  duration_ms: number;
  metrics: { loss: number; accuracy: number; heldout_loss: number; train_samples: number } | null;
  /** The trained model (msgpack), for the job-level aggregate; null when failed or too large. */
  model: Uint8Array | null;
  error: string | null;
  /** Per epoch: loss, accuracy, held-out loss (flat), for the job's history.csv. */
  history?: number[];
}

/** A task to run again in the chunk's next generation. */
export interface TaskRetry {
  task_index: number;
  /** Attempts the task has spent so far (the next one is this + 1). */
  attempts: number;
  /**
   * Why the last run failed; absent when the task did not start. A thread that died under
   * several tasks fails the run without spending their attempts (which task killed it is not
   * known), so `attempts` says what was spent.
   */
  error?: string;
}

/**
 * What one generation (attempt) of a chunk came to, written once with a KV create keyed by chunk
 * and generation: the writer whose create won decides the chunk's fate. Generation g + 1 runs
 * exactly generation g's `retry` set, so every task is final in at most one record.
 */
export interface ChunkRecord {
  generation: number;
  worker_id: string;
  /** Tasks that ended for good in this generation, by task index. */
  outcomes: Record<number, TaskOutcome>;
  retry: TaskRetry[];
  /** The next generation runs after this long (the retry set's back-off). */
  delay_ms: number;
  /** The next generation runs its tasks one pool post each (a thread died under several). */
  isolate: boolean;
  /** Wall time of the generation's run in the pool, for chunk sizing. */
  duration_ms: number;
  /** The chunk's worker-actor crash count (`ChunkDeliveries.failures`) this generation ran with. */
  failures: number;
  /** Written by a redelivery: the chunk may have delivery counts in the tasks bucket. */
  redelivered: boolean;
}

export function encodeRecord(record: ChunkRecord): Uint8Array {
  return pack(record);
}

export function decodeRecord(data: Uint8Array): ChunkRecord {
  return unpack(data) as ChunkRecord;
}

/**
 * What a chunk's deliveries came to beyond its recorded generations (tasks bucket; nothing
 * recorded = all 0). A delivery that is none of these, nor a generation's retry, was a stall —
 * its lease ran out (its process died, or lost NATS) — which is no attempt.
 */
export interface ChunkDeliveries {
  /** Runs that crashed the worker actor: each spends an attempt of the tasks it held. */
  failures: number;
  /** Deliveries handed back without an attempt (a quota wait, a drain). */
  hand_backs: number;
}
