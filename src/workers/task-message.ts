import { pack, unpack } from "msgpackr";
import type { TaskInput } from "../training/types.ts";
import type { Priority } from "../transport/subjects.ts";

/** A queued task: everything a worker needs to run it, so starting one reads nothing else. */
export interface TaskMessage {
  job_id: string;
  task_index: number;
  priority: Priority;
  user_id: string;
  input: TaskInput;
  max_attempts: number;
  backoff_ms: number;
}

/** The task's key in the tasks, results and checkpoints buckets. */
export function taskKey(jobId: string, taskIndex: number): string {
  return `${jobId}.${taskIndex}`;
}

export function encodeTask(task: TaskMessage): Uint8Array {
  return pack(task);
}

export function decodeTask(data: Uint8Array): TaskMessage {
  return unpack(data) as TaskMessage;
}

/** The one recorded outcome of a task (results bucket, written once with `create`). */
export interface TaskOutcome {
  status: "COMPLETED" | "FAILED";
  attempt: number;
  worker_id: string;
  finished_at: string;
  duration_ms: number;
  metrics: { loss: number; accuracy: number; heldout_loss: number; train_samples: number } | null;
  /** The trained model (msgpack), for the job-level aggregate; null when failed. */
  model: Uint8Array | null;
  error: string | null;
}

/**
 * What a task's deliveries came to, beyond the first (tasks bucket; nothing recorded = all 0).
 * Its attempt number is 1 + `failures`; a delivery that is neither a failure nor a hand-back
 * was a stall — its lease ran out (its process died, or lost NATS) — which is no attempt.
 */
export interface TaskDeliveries {
  /** Attempts that failed (a training error, a timeout, a crashed worker actor). */
  failures: number;
  /** Deliveries handed back without an attempt (a quota wait, a drain). */
  hand_backs: number;
}

/** Back-off before attempt `attempt + 1`: base × 2^(attempt-1), ±25 % jitter, capped at 10 min. */
export function retryDelayMs(baseMs: number, attempt: number, random = Math.random): number {
  const exponential = Math.min(baseMs * 2 ** (attempt - 1), 600_000);
  return Math.round(exponential * (0.75 + random() * 0.5));
}
