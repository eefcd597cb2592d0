import { pack, unpack } from "msgpackr";
import type { Clock } from "../clock.ts";
import { TroupeError } from "../errors.ts";
import { type Faults, InjectedFault } from "../faults.ts";
import type { Logger } from "../log.ts";
import type { PipelineEvents } from "../pipeline-events.ts";
import type { UserQuota } from "../queue/quota.ts";
import type { TrainingPool } from "../training/pool.ts";
import type { TaskResult } from "../training/types.ts";
import type { EventPublisher } from "../transport/events.ts";
import { isWrongRevision } from "../transport/kv.ts";
import type { Delivery } from "../transport/lane-pull.ts";
import { isNatsUnavailable } from "../transport/nats-errors.ts";
import type { Buckets, Topology } from "../transport/streams.ts";
import { type JobAborts, TaskAbort } from "./job-aborts.ts";
import {
  decodeTask,
  retryDelayMs,
  type TaskDeliveries,
  type TaskMessage,
  type TaskOutcome,
  taskKey,
} from "./task-message.ts";
import { taskEndOf, type WorkerRegistry } from "./worker-registry.ts";

/** A model larger than this is not kept with the result (KV values must fit max_payload). */
const MAX_MODEL_BYTES = 768 * 1024;
/** A task of a user over quota goes back to the queue for this long. */
const QUOTA_RETRY_MS = 250;
const MAX_CAS_TRIES = 10;
/** A result write that met NATS unavailable is tried this often, RECORD_RETRY_MS × n apart. */
const RECORD_TRIES = 4;
const RECORD_RETRY_MS = 250;
/**
 * A task whose lease runs out more often than this without an attempt failing is failed: its
 * process keeps dying under it (an out-of-memory kill, say). Leases that lapse in an outage or a
 * deployment are no attempts, so they do not use up `max_attempts`.
 */
const MAX_STALLS = 10;

export interface TaskRunnerOptions {
  kv: Buckets;
  writers: Topology["writers"];
  pool: TrainingPool;
  events: EventPublisher;
  pipeline: PipelineEvents;
  registry: WorkerRegistry;
  aborts: JobAborts;
  quota: UserQuota | undefined;
  /** A running task renews its lease (AckWait) this often ("working"). */
  renewEveryMs: number;
  taskTimeoutMs: number;
  /**
   * Aborted when this process stops waiting for its running tasks (the drain timed out): each is
   * handed back at once (nak without delay) for another process to take.
   */
  handBack: AbortSignal;
  faults: Faults;
  clock: Clock;
  log: Logger;
}

/**
 * Runs one delivered task, end to end: skip it if its job ended or its result exists, take a quota
 * slot, count the attempt, train in the pool (keeping the lease alive, posting progress and
 * checkpoints), record the outcome exactly once, then ack — or hand it back for a retry.
 * Injected faults and infrastructure errors propagate: the worker actor crashes, and its
 * supervisor's restart hands the task back (see worker-actor.ts).
 */
export class TaskRunner {
  readonly #o: TaskRunnerOptions;

  constructor(options: TaskRunnerOptions) {
    this.#o = options;
  }

  get workerId(): string {
    return this.#o.registry.workerId;
  }

  async run(received: Delivery, stopping: AbortSignal): Promise<void> {
    const { ackDelayMs } = this.#o.faults;
    const delivery = ackDelayMs > 0 ? withDelayedAck(received, ackDelayMs) : received;
    const task = decodeTask(delivery.data);
    const key = taskKey(task.job_id, task.task_index);
    if (this.#o.aborts.hasEnded(task.job_id)) {
      delivery.ack();
      return;
    }
    // A first delivery is attempt 1 and has nothing recorded: it reads and writes nothing here.
    let counted: TaskDeliveries = { failures: 0, hand_backs: 0 };
    if (delivery.deliveryCount > 1) {
      const [result, entry] = await Promise.all([
        this.#o.kv.results.get(key),
        this.#o.kv.tasks.get(key),
      ]);
      if (result?.operation === "PUT") {
        delivery.ack(); // recorded by an earlier attempt whose ack was lost
        return;
      }
      if (entry?.operation === "PUT") counted = unpack(entry.value) as TaskDeliveries;
      const stalls = delivery.deliveryCount - 1 - counted.failures - counted.hand_backs;
      if (stalls > MAX_STALLS) {
        await this.#finish(task, key, delivery, counted.failures + 1, {
          failed: `its lease ran out ${stalls} times (the process running it died or lost NATS each time)`,
        });
        return;
      }
    }
    if (stopping.aborted) {
      await this.#handBack(key, delivery, 0);
      return;
    }
    const slot = this.#o.quota
      ? await this.#o.quota.tryAcquire(task.user_id, `${this.workerId}/${key}`)
      : undefined;
    if (this.#o.quota && !slot) {
      await this.#handBack(key, delivery, QUOTA_RETRY_MS);
      return;
    }
    try {
      await this.#attempt(task, key, delivery, counted.failures + 1, stopping);
    } finally {
      await slot
        ?.release()
        .catch((error) => this.#o.log.warn({ err: error }, "quota release failed"));
    }
  }

  /**
   * Returns a delivery without spending an attempt, to be delivered again after `delayMs`: one
   * this process will not start (it is stopping), or one whose run NATS failed, not the task.
   */
  async handBack(delivery: Delivery, delayMs = 0): Promise<void> {
    const task = decodeTask(delivery.data);
    await this.#handBack(taskKey(task.job_id, task.task_index), delivery, delayMs);
  }

  /** Counts a failed attempt of the delivery's task (its worker actor crashed running it). */
  async countFailure(delivery: Delivery): Promise<void> {
    const task = decodeTask(delivery.data);
    await this.#count(taskKey(task.job_id, task.task_index), "failures");
  }

  async #attempt(
    task: TaskMessage,
    key: string,
    delivery: Delivery,
    attempt: number,
    stopping: AbortSignal,
  ) {
    if (attempt > task.max_attempts) {
      await this.#finish(task, key, delivery, attempt - 1, {
        failed: `gave up after ${task.max_attempts} attempts`,
      });
      return;
    }
    const controller = new AbortController();
    const onStop = () => controller.abort(new TaskAbort("stopping"));
    stopping.addEventListener("abort", onStop, { once: true });
    this.#o.handBack.addEventListener("abort", onStop, { once: true });
    if (this.#o.handBack.aborted) onStop();
    const untrack = this.#o.aborts.track(task.job_id, controller);
    const cancelTimeout = this.#o.clock.schedule(
      () => controller.abort(new TaskAbort("timeout")),
      this.#o.taskTimeoutMs,
    );
    const keepAlive = setInterval(() => delivery.working(), this.#o.renewEveryMs);
    const startedAt = this.#o.clock.now();
    this.#o.registry.taskStarted(key);
    this.#taskEvent(task, "RUNNING", attempt);
    this.#o.pipeline.emit({
      kind: "task_started",
      job_id: task.job_id,
      task_index: task.task_index,
      model_type: task.input.model_type,
      attempt,
    });
    let completed = false;
    try {
      this.#o.faults.maybeCrash("worker");
      const result = await this.#train(task, key, attempt, delivery, controller.signal);
      completed = true;
      await this.#finish(task, key, delivery, attempt, { result, startedAt });
    } catch (error) {
      if (error instanceof InjectedFault || !isTaskFailure(error, controller.signal)) throw error;
      await this.#failed(task, key, delivery, attempt, error, controller.signal, startedAt);
    } finally {
      clearInterval(keepAlive);
      cancelTimeout();
      untrack();
      stopping.removeEventListener("abort", onStop);
      this.#o.handBack.removeEventListener("abort", onStop);
      this.#o.registry.taskEnded(
        key,
        taskEndOf({
          completed,
          signal: controller.signal,
          attempt,
          maxAttempts: task.max_attempts,
        }),
      );
    }
  }

  async #train(
    task: TaskMessage,
    key: string,
    attempt: number,
    delivery: Delivery,
    signal: AbortSignal,
  ): Promise<TaskResult> {
    // Any earlier delivery may have saved epochs: a failed attempt, and as much a process that
    // died (a stall, which is no attempt). A first delivery has none to look for.
    const checkpoint = delivery.deliveryCount > 1 ? await this.#o.kv.checkpoints.get(key) : null;
    // One checkpoint write at a time, and only the newest: epochs that end while a write is under
    // way replace each other, so fast epochs cost a write per round trip, not one each.
    let newest: Uint8Array | undefined;
    let saving: Promise<void> | undefined;
    const save = async () => {
      for (let bytes = newest; bytes; bytes = newest) {
        newest = undefined;
        await this.#o.writers.checkpoints
          .put(key, bytes)
          .catch((error) => this.#o.log.warn({ err: error, key }, "checkpoint not saved"));
      }
      saving = undefined;
    };
    const crashThread = this.#o.faults.crashPoolThread();
    if (crashThread) this.#o.log.warn({ fault: "pool", key }, "injected fault: a pool thread dies");
    const result = await this.#o.pool.run(
      {
        ...task.input,
        task_index: task.task_index,
        ...(checkpoint?.operation === "PUT" ? { checkpoint: checkpoint.value } : {}),
      },
      {
        signal,
        crashThread,
        onProgress: (p) => {
          this.#taskEvent(task, "RUNNING", attempt, {
            epoch: p.epoch,
            epochs: p.epochs,
            loss: p.loss,
            accuracy: p.accuracy,
            samples_per_s: p.samples_per_s,
          });
          this.#o.pipeline.emit({
            kind: "task_progress",
            job_id: task.job_id,
            task_index: task.task_index,
            epoch: p.epoch,
            loss: p.loss,
            accuracy: p.accuracy,
          });
        },
        // A retry resumes after the last saved epoch (the pool sends none for the last epoch).
        onCheckpoint: (c) => {
          newest = c.bytes;
          saving ??= save();
        },
      },
    );
    await saving;
    return result;
  }

  /**
   * Hands the delivery back without spending an attempt (a quota wait, a drain): the hand-back is
   * counted first, so the next delivery does not take it for a stall.
   */
  async #handBack(key: string, delivery: Delivery, delayMs: number): Promise<void> {
    try {
      await this.#count(key, "hand_backs");
    } finally {
      // Handed back even when NATS could not count it (nats.js sends it once reconnected): its
      // next delivery then passes for a stall, rather than waiting a whole lease to come back.
      delivery.nak(delayMs);
    }
  }

  /** Adds one to a count of the task's deliveries (tasks bucket, compare-and-set). */
  async #count(key: string, what: keyof TaskDeliveries): Promise<void> {
    const { tasks } = this.#o.kv;
    for (let i = 0; i < MAX_CAS_TRIES; i++) {
      const entry = await tasks.get(key);
      const record: TaskDeliveries =
        entry?.operation === "PUT"
          ? (unpack(entry.value) as TaskDeliveries)
          : { failures: 0, hand_backs: 0 };
      record[what] += 1;
      try {
        if (entry) await tasks.update(key, pack(record), entry.revision);
        else await tasks.create(key, pack(record));
        return;
      } catch (error) {
        if (!isWrongRevision(error)) throw error;
      }
    }
    throw new Error(`task ${key}: its delivery counts kept conflicting`);
  }

  async #failed(
    task: TaskMessage,
    key: string,
    delivery: Delivery,
    attempt: number,
    error: unknown,
    signal: AbortSignal,
    startedAt: number,
  ) {
    const reason = signal.aborted ? (signal.reason as TaskAbort).reason : undefined;
    if (reason === "job-ended") {
      delivery.ack();
      this.#taskEvent(task, "CANCELLED", attempt);
      this.#taskFinished(task, "CANCELLED", startedAt);
      return;
    }
    if (reason === "stopping") {
      await this.#handBack(key, delivery, 0); // drained: another process takes it at once
      this.#taskEvent(task, "QUEUED", attempt, { reason: "handed back: worker draining" });
      return;
    }
    const message =
      reason === "timeout"
        ? `task exceeded TASK_TIMEOUT (${this.#o.taskTimeoutMs} ms)`
        : errorMessage(error);
    if (attempt < task.max_attempts) {
      await this.#count(key, "failures");
      delivery.nak(retryDelayMs(task.backoff_ms, attempt));
      this.#taskEvent(task, "RETRYING", attempt, { error: message });
      this.#o.pipeline.emit({
        kind: "task_retried",
        job_id: task.job_id,
        task_index: task.task_index,
        attempt,
      });
      this.#taskFinished(task, "RETRYING", startedAt);
      return;
    }
    await this.#finish(task, key, delivery, attempt, { failed: message, startedAt });
  }

  /** Records the outcome once (KV create), then acks; a second recording is a no-op. */
  async #finish(
    task: TaskMessage,
    key: string,
    delivery: Delivery,
    attempt: number,
    how: { result: TaskResult; startedAt: number } | { failed: string; startedAt?: number },
  ) {
    const now = this.#o.clock.now();
    const startedAt = how.startedAt ?? now;
    const outcome: TaskOutcome =
      "result" in how
        ? {
            status: "COMPLETED",
            attempt,
            worker_id: this.workerId,
            finished_at: new Date(now).toISOString(),
            duration_ms: now - startedAt,
            metrics: {
              loss: how.result.metrics.loss,
              accuracy: how.result.metrics.accuracy,
              heldout_loss: how.result.metrics.heldout_loss,
              train_samples: how.result.metrics.train_samples,
            },
            model: how.result.model.byteLength <= MAX_MODEL_BYTES ? how.result.model : null,
            error: null,
          }
        : {
            status: "FAILED",
            attempt,
            worker_id: this.workerId,
            finished_at: new Date(now).toISOString(),
            duration_ms: now - startedAt,
            metrics: null,
            model: null,
            error: how.failed,
          };
    await this.#record(key, pack(outcome));
    delivery.ack();
    this.#taskEvent(task, outcome.status, attempt, outcome.error ? { error: outcome.error } : {});
    this.#taskFinished(task, outcome.status, startedAt);
  }

  /**
   * Records an outcome (KV create). A write that met a NATS blip is tried again: a create is
   * idempotent (a second one is refused as a wrong revision), and a trained model is not thrown
   * away, nor an attempt spent, for want of one acknowledgement. A longer outage propagates.
   */
  async #record(key: string, bytes: Uint8Array): Promise<void> {
    for (let tries = 1; ; tries++) {
      try {
        await this.#o.writers.results.create(key, bytes);
        return;
      } catch (error) {
        if (isWrongRevision(error)) {
          this.#o.log.debug({ key }, "result already recorded; this run was a duplicate");
          return;
        }
        if (!isNatsUnavailable(error) || tries >= RECORD_TRIES) throw error;
        await new Promise<void>((resolve) =>
          this.#o.clock.schedule(resolve, RECORD_RETRY_MS * tries),
        );
      }
    }
  }

  #taskFinished(
    task: TaskMessage,
    status: "COMPLETED" | "FAILED" | "CANCELLED" | "RETRYING",
    startedAt: number,
  ) {
    const duration_s = (this.#o.clock.now() - startedAt) / 1000;
    this.#o.pipeline.emit({
      kind: "task_finished",
      job_id: task.job_id,
      task_index: task.task_index,
      model_type: task.input.model_type,
      status,
      duration_s,
    });
  }

  #taskEvent(
    task: TaskMessage,
    status: string,
    attempt: number,
    extra: Record<string, unknown> = {},
  ) {
    this.#o.events.task({
      job_id: task.job_id,
      task_index: task.task_index,
      status,
      attempt,
      worker_id: this.workerId,
      ...extra,
    });
  }
}

/**
 * Training errors (bad numbers, a spec the pool refuses, an unusable checkpoint) and aborts are
 * the task's own failure, retried by its policy; anything else (NATS, KV, a dead pool thread) is
 * an infrastructure error that crashes the worker actor.
 */
function isTaskFailure(error: unknown, signal: AbortSignal): boolean {
  if (signal.aborted) return true;
  return error instanceof TroupeError && /^TROUPE_ERR_(TRAINING|CHECKPOINT)/.test(error.code);
}

/** Test-only (TROUPE_FAULTS ack-delay): the same delivery, its acks sent `ms` late. */
function withDelayedAck(delivery: Delivery, ms: number): Delivery {
  return {
    ...delivery,
    ack: () => {
      setTimeout(() => {
        try {
          delivery.ack();
        } catch {
          // The connection closed meanwhile: the ack is lost, as a delayed one may be.
        }
      }, ms);
    },
  };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
