/**
 * The decisions of running a chunk, as pure functions: which tasks a delivery runs and at which
 * attempt (from the chunk's records and delivery counts), and what a run comes to (the record
 * its generation writes). The chunk runner only applies them.
 */
import type { ErrorData } from "../errors.ts";
import type { ChunkResult, TaskResult } from "../training/types.ts";
import type {
  ChunkDeliveries,
  ChunkMessage,
  ChunkRecord,
  TaskOutcome,
  TaskRetry,
} from "./chunk-message.ts";
import { RetryPolicy } from "./retry-policy.ts";

/**
 * A chunk whose lease runs out more often than this without an attempt failing fails its tasks:
 * its process keeps dying under it (an out-of-memory kill, say). Leases that lapse in an outage
 * or a deployment are no attempts, so they do not use up `max_attempts`.
 */
export const MAX_STALLS = 10;

/** A task to run now, at attempt `attempt` (1-based). */
export interface PlannedTask {
  task_index: number;
  attempt: number;
}

export type DeliveryPlan =
  /** The last generation left nothing to retry: the chunk is done (its ack was lost). */
  | { kind: "done" }
  /** Run `run` as generation `generation`; `given_up` fail for good without running. */
  | {
      kind: "run";
      generation: number;
      run: PlannedTask[];
      given_up: { task_index: number; attempt: number; error: string }[];
      isolate: boolean;
    };

/**
 * What a delivery of `message` runs, given the chunk's records so far (generations 0..n-1, in
 * order), its delivery counts, and the delivery's number. A first delivery has no records and
 * no counts: it runs every task at attempt 1.
 */
export function planDelivery(
  message: ChunkMessage,
  records: readonly ChunkRecord[],
  counts: ChunkDeliveries,
  deliveryCount: number,
): DeliveryPlan {
  const last = records[records.length - 1];
  if (last && last.retry.length === 0) return { kind: "done" };
  const pending: TaskRetry[] = last
    ? last.retry
    : message.tasks.map((task_index) => ({ task_index, attempts: 0 }));
  // Crashes of the worker actor since the last record spent an attempt of every pending task.
  const crashes = counts.failures - (last ? failuresSeen(records) : 0);
  const naks = records.filter((record) => record.retry.length > 0).length;
  const stalls = deliveryCount - 1 - counts.failures - counts.hand_backs - naks;
  const plan: DeliveryPlan = {
    kind: "run",
    generation: records.length,
    run: [],
    given_up: [],
    isolate: last?.isolate ?? false,
  };
  for (const task of pending) {
    const attempt = task.attempts + Math.max(0, crashes) + 1;
    if (stalls > MAX_STALLS) {
      plan.given_up.push({
        task_index: task.task_index,
        attempt,
        error: `its lease ran out ${stalls} times (the process running it died or lost NATS each time)`,
      });
    } else if (!RetryPolicy.of(message).allows(attempt)) {
      plan.given_up.push({
        task_index: task.task_index,
        attempt: attempt - 1,
        error: task.error
          ? `gave up after ${message.max_attempts} attempts: ${task.error}`
          : `gave up after ${message.max_attempts} attempts`,
      });
    } else {
      plan.run.push({ task_index: task.task_index, attempt });
    }
  }
  return plan;
}

/** Worker-actor crashes already accounted for by the newest record. */
function failuresSeen(records: readonly ChunkRecord[]): number {
  return records[records.length - 1]?.failures ?? 0;
}

/** How a run in the pool ended, beyond its per-task results. */
export type RunEnd =
  /** Every task ran, or the chunk stopped at an aborted task for this reason. */
  | { kind: "results"; results: ChunkResult; stopped?: "timeout" | "stopping" }
  /** The thread died (or was terminated): which tasks finished is not known. */
  | { kind: "thread-died"; error: string };

export interface RecordContext {
  message: ChunkMessage;
  plan: Extract<DeliveryPlan, { kind: "run" }>;
  /** The chunk's worker-actor crash count this run was planned with. */
  failures: number;
  /** The run's delivery was not the chunk's first. */
  redelivered: boolean;
  workerId: string;
  now: number;
  startedAt: number;
  taskTimeoutMs: number;
  /** Largest model kept with a result (KV values must fit max_payload). */
  maxModelBytes: number;
  random?: () => number;
}

/**
 * The record a run's generation writes: every task completed, failed for good, or to retry (a
 * failed attempt with its back-off, or a task that did not start, with no attempt spent).
 */
export function recordOf(end: RunEnd, c: RecordContext): ChunkRecord {
  const { plan, message } = c;
  const record: ChunkRecord = {
    generation: plan.generation,
    worker_id: c.workerId,
    outcomes: {},
    retry: [],
    delay_ms: 0,
    isolate: plan.isolate,
    duration_ms: c.now - c.startedAt,
    failures: c.failures,
    redelivered: c.redelivered,
  };
  for (const given of plan.given_up) {
    record.outcomes[given.task_index] = failedOutcome(given.attempt, given.error, c, 0);
  }
  const policy = RetryPolicy.of(message, c.random);
  const failAttempt = (task: PlannedTask, error: string) => {
    const next = policy.afterFailure(task.attempt);
    if (next.retry) {
      record.retry.push({ task_index: task.task_index, attempts: task.attempt, error });
      record.delay_ms = Math.max(record.delay_ms, next.delayMs);
    } else {
      record.outcomes[task.task_index] = failedOutcome(task.attempt, error, c, c.now - c.startedAt);
    }
  };
  const notStarted = (task: PlannedTask) =>
    record.retry.push({ task_index: task.task_index, attempts: task.attempt - 1 });

  if (end.kind === "thread-died") {
    // One task alone: it was the one. Several: nobody knows which, so none spends an attempt and
    // the next generation runs each in a post of its own, where a crash names its task.
    if (plan.run.length === 1 || plan.isolate) {
      const [first, ...rest] = plan.run;
      if (first) failAttempt(first, `training thread died: ${end.error}`);
      for (const task of rest) notStarted(task);
    } else {
      // Told as a retry (the chunk's attempt failed), though none of them spends an attempt.
      for (const task of plan.run) {
        record.retry.push({
          task_index: task.task_index,
          attempts: task.attempt - 1,
          error: `training thread died: ${end.error}`,
        });
      }
      record.isolate = true;
    }
    return record;
  }
  for (const [position, task] of plan.run.entries()) {
    const result = end.results[position];
    if (!result || (!result.ok && isAbort(result.error) && end.stopped === "stopping")) {
      notStarted(task);
    } else if (result.ok) {
      record.outcomes[task.task_index] = completedOutcome(task.attempt, result.value, c);
    } else if (isAbort(result.error) && end.stopped === "timeout") {
      failAttempt(task, `task exceeded TASK_TIMEOUT (${c.taskTimeoutMs} ms)`);
    } else {
      failAttempt(task, result.error.message);
    }
  }
  return record;
}

function isAbort(error: ErrorData): boolean {
  return error.code === "TROUPE_ERR_TRAINING_ABORTED";
}

function completedOutcome(attempt: number, result: TaskResult, c: RecordContext): TaskOutcome {
  return {
    status: "COMPLETED",
    attempt,
    worker_id: c.workerId,
    finished_at: new Date(c.now).toISOString(),
    duration_ms: Math.round(result.metrics.duration_ms),
    metrics: {
      loss: result.metrics.loss,
      accuracy: result.metrics.accuracy,
      heldout_loss: result.metrics.heldout_loss,
      train_samples: result.metrics.train_samples,
    },
    model: result.model.byteLength <= c.maxModelBytes ? result.model : null,
    error: null,
    history: result.history.flatMap((h) => [h.loss, h.accuracy, h.heldout_loss]),
  };
}

function failedOutcome(
  attempt: number,
  error: string,
  c: RecordContext,
  durationMs: number,
): TaskOutcome {
  return {
    status: "FAILED",
    attempt,
    worker_id: c.workerId,
    finished_at: new Date(c.now).toISOString(),
    duration_ms: durationMs,
    metrics: null,
    model: null,
    error,
  };
}
