import type { Clock } from "../clock.ts";
import type { ChunkTaskState } from "../contract/events.ts";
import type { Faults } from "../faults.ts";
import type { Logger } from "../log.ts";
import type { PipelineEvents } from "../pipeline-events.ts";
import type { UserQuota } from "../queue/quota.ts";
import type { TrainingPool } from "../training/pool.ts";
import type { Delivery } from "../transport/lane-pull.ts";
import type { Bucket, EventSink, ResultLog } from "../transport/ports.ts";
import { ChunkLedger } from "./chunk-ledger.ts";
import {
  type ChunkDeliveries,
  type ChunkMessage,
  type ChunkRecord,
  chunkKey,
  decodeChunk,
  taskKey,
} from "./chunk-message.ts";
import { type DeliveryPlan, planDelivery, recordOf } from "./chunk-plan.ts";
import { ProgressCoalescer } from "./chunk-progress.ts";
import { finishedStates, taskEnd } from "./chunk-states.ts";
import { ChunkTrainer, type ChunkTrainerOptions } from "./chunk-training.ts";
import { type JobAborts, TaskAbort } from "./job-aborts.ts";
import type { TaskEnd, WorkerRegistry } from "./worker-registry.ts";

/** A model larger than this is not kept with the result (KV values must fit max_payload). */
const MAX_MODEL_BYTES = 768 * 1024;
/** A chunk of a user over quota goes back to the queue for this long. */
const QUOTA_RETRY_MS = 250;

export interface ChunkRunnerOptions {
  results: ResultLog;
  checkpoints: Bucket;
  /** Chunks' delivery counts. */
  counts: Bucket;
  pool: TrainingPool;
  events: EventSink;
  pipeline: PipelineEvents;
  /** Where this process counts its running and finished tasks. */
  registry: Pick<WorkerRegistry, "workerId" | "taskStarted" | "taskEnded">;
  aborts: JobAborts;
  quota: UserQuota | undefined;
  /** A running chunk renews its lease (AckWait) this often ("working"). */
  renewEveryMs: number;
  taskTimeoutMs: number;
  /**
   * Aborted when this process stops waiting for its running chunks (the drain timed out): each is
   * handed back at once (its finished tasks recorded) for another process to take.
   */
  handBack: AbortSignal;
  faults: Faults;
  clock: Clock;
  log: Logger;
  /** An uploaded data set's bytes for the pool (see ChunkTrainerOptions). */
  dataOf?: ChunkTrainerOptions["dataOf"];
  modelOf?: ChunkTrainerOptions["modelOf"];
}

type RunPlan = Extract<DeliveryPlan, { kind: "run" }>;
type FinishedStatus = "COMPLETED" | "FAILED" | "CANCELLED" | "RETRYING";

/**
 * Runs one delivered chunk, end to end: skip it if its job ended or its tasks are recorded, take a
 * quota slot (a chunk runs one task at a time), plan the attempt from the chunk's records, train
 * in the pool (keeping the lease alive, coalescing progress, saving checkpoints), write the
 * generation's record exactly once, then ack — or nak for the tasks left to retry. Injected
 * faults and infrastructure errors propagate: the worker actor crashes, and its supervisor's
 * restart hands the chunk back (see worker-actor.ts).
 */
export class ChunkRunner {
  readonly #o: ChunkRunnerOptions;
  readonly #ledger: ChunkLedger;
  readonly #trainer: ChunkTrainer;

  constructor(options: ChunkRunnerOptions) {
    this.#o = options;
    this.#ledger = new ChunkLedger(options.results, options.counts, options.clock, options.log);
    this.#trainer = new ChunkTrainer(options);
  }

  get workerId(): string {
    return this.#o.registry.workerId;
  }

  async run(received: Delivery, stopping: AbortSignal): Promise<void> {
    const { ackDelayMs } = this.#o.faults;
    const delivery = ackDelayMs > 0 ? withDelayedAck(received, ackDelayMs) : received;
    const message = decodeChunk(delivery.data);
    if (this.#o.aborts.hasEnded(message.job_id)) {
      delivery.ack();
      return;
    }
    // A first delivery has nothing recorded: it reads nothing here.
    let records: ChunkRecord[] = [];
    let counts: ChunkDeliveries = { failures: 0, hand_backs: 0 };
    if (isRedelivery(delivery, message)) {
      [records, counts] = await Promise.all([
        this.#ledger.records(message),
        this.#ledger.counts(message),
      ]);
    }
    const plan = planDelivery(message, records, counts, delivery.deliveryCount);
    if (plan.kind === "done") {
      delivery.ack(); // recorded by an earlier delivery whose ack was lost
      return;
    }
    if (stopping.aborted) {
      await this.#handBack(message, delivery, 0);
      return;
    }
    const slot = this.#o.quota
      ? await this.#o.quota.tryAcquire(
          message.user_id,
          `${this.workerId}/${chunkKey(message.job_id, message.chunk)}`,
        )
      : undefined;
    if (this.#o.quota && !slot) {
      await this.#handBack(message, delivery, QUOTA_RETRY_MS);
      return;
    }
    try {
      await this.#attempt(message, plan, counts.failures, delivery, stopping);
    } finally {
      await slot
        ?.release()
        .catch((error) => this.#o.log.warn({ err: error }, "quota release failed"));
    }
  }

  /**
   * Returns a delivery without spending an attempt, to be delivered again after `delayMs`: one
   * this process will not start (it is stopping), or one whose run NATS failed, not the tasks.
   */
  async handBack(delivery: Delivery, delayMs = 0): Promise<void> {
    await this.#handBack(decodeChunk(delivery.data), delivery, delayMs);
  }

  /** Counts a failed attempt of the delivery's chunk (its worker actor crashed running it). */
  async countFailure(delivery: Delivery): Promise<void> {
    await this.#ledger.count(decodeChunk(delivery.data), "failures");
  }

  async #attempt(
    message: ChunkMessage,
    plan: RunPlan,
    failures: number,
    delivery: Delivery,
    stopping: AbortSignal,
  ): Promise<void> {
    const controller = new AbortController();
    const onStop = () => controller.abort(new TaskAbort("stopping"));
    stopping.addEventListener("abort", onStop, { once: true });
    this.#o.handBack.addEventListener("abort", onStop, { once: true });
    if (this.#o.handBack.aborted) onStop();
    const untrack = this.#o.aborts.track(message.job_id, controller);
    const keepAlive = setInterval(() => delivery.working(), this.#o.renewEveryMs);
    const startedAt = this.#o.clock.now();
    const keys = plan.run.map((task) => taskKey(message.job_id, task.task_index));
    for (const key of keys) this.#o.registry.taskStarted(key);
    this.announce(
      message,
      plan.run.map((task) => ({
        task_index: task.task_index,
        status: "RUNNING",
        attempt: task.attempt,
      })),
    );
    for (const task of plan.run) {
      this.#o.pipeline.emit({
        kind: "task_started",
        job_id: message.job_id,
        task_index: task.task_index,
        model_type: message.spec.model_type,
        attempt: task.attempt,
      });
    }
    const progress = new ProgressCoalescer(this.#o.clock, (tasks) => this.announce(message, tasks));
    let record: ChunkRecord | undefined;
    // How the planned tasks ended when no record says (a crash is retried, its attempt spent).
    let unrecorded: TaskEnd = "RETRYING";
    try {
      this.#o.faults.maybeCrash("worker");
      const end = await this.#trainer.train(message, plan, {
        redelivered: isRedelivery(delivery, message),
        signal: controller.signal,
        progress,
      });
      progress.flush();
      const reason = controller.signal.aborted
        ? (controller.signal.reason as TaskAbort).reason
        : undefined;
      if (reason === "job-ended") {
        unrecorded = "CANCELLED";
        delivery.ack();
        this.#cancelled(message, plan, startedAt);
        return;
      }
      if (end.kind === "thread-died" && reason === "stopping") {
        unrecorded = "HANDED_BACK";
        await this.#handBack(message, delivery, 0);
        return;
      }
      if (end.kind === "thread-died" && reason === "paused") {
        // Its checkpoints are saved; the resume queues the chunk again.
        unrecorded = "HANDED_BACK";
        delivery.ack();
        this.#paused(message, plan);
        return;
      }
      record = recordOf(end, {
        message,
        plan,
        failures,
        redelivered: isRedelivery(delivery, message),
        workerId: this.workerId,
        now: this.#o.clock.now(),
        startedAt,
        taskTimeoutMs: this.#o.taskTimeoutMs,
        maxModelBytes: MAX_MODEL_BYTES,
      });
      record = await this.#settle(message, record, delivery, reason === "paused");
      this.#finished(message, plan, record, startedAt);
    } finally {
      progress.close();
      clearInterval(keepAlive);
      untrack();
      stopping.removeEventListener("abort", onStop);
      this.#o.handBack.removeEventListener("abort", onStop);
      plan.run.forEach((task, i) => {
        this.#o.registry.taskEnded(keys[i] as string, taskEnd(record, task.task_index, unrecorded));
      });
    }
  }

  /**
   * Writes the generation's record and acts on the one that stands (this one, or another
   * writer's): ack when nothing is left to retry, else nak with its back-off.
   */
  async #settle(
    message: ChunkMessage,
    record: ChunkRecord,
    delivery: Delivery,
    paused: boolean,
  ): Promise<ChunkRecord> {
    const { record: standing, bytes } = await this.#ledger.record(message, record);
    // Paused: the tasks left wait for the resume, which queues the chunk again.
    if (standing.retry.length === 0 || paused) delivery.ack();
    else delivery.nak(standing.delay_ms);
    this.#ledger.announce(message, standing.generation, bytes);
    return standing;
  }

  /**
   * Hands the delivery back without spending an attempt (a quota wait, a drain): the hand-back is
   * counted first, so the next delivery does not take it for a stall.
   */
  async #handBack(message: ChunkMessage, delivery: Delivery, delayMs: number): Promise<void> {
    try {
      await this.#ledger.count(message, "hand_backs");
    } finally {
      // Handed back even when NATS could not count it (nats.js sends it once reconnected): its
      // next delivery then passes for a stall, rather than waiting a whole lease to come back.
      delivery.nak(delayMs);
    }
    if (delayMs === 0) {
      this.announce(
        message,
        message.tasks.map((task_index) => ({
          task_index,
          status: "QUEUED",
          attempt: 0,
          reason: "handed back: worker draining",
        })),
      );
    }
  }

  #paused(message: ChunkMessage, plan: RunPlan): void {
    this.announce(
      message,
      plan.run.map((task) => ({
        task_index: task.task_index,
        status: "QUEUED",
        attempt: task.attempt - 1,
        reason: "paused",
      })),
    );
  }

  #cancelled(message: ChunkMessage, plan: RunPlan, startedAt: number): void {
    this.announce(
      message,
      plan.run.map((task) => ({
        task_index: task.task_index,
        status: "CANCELLED",
        attempt: task.attempt,
      })),
    );
    for (const task of plan.run) this.#taskFinished(message, task, "CANCELLED", startedAt);
  }

  /** Events for what the standing record says of each planned task. */
  #finished(message: ChunkMessage, plan: RunPlan, record: ChunkRecord, startedAt: number): void {
    const states = finishedStates(plan, record);
    for (const state of states) {
      if (state.status === "QUEUED") continue;
      if (state.status === "RETRYING") {
        this.#o.pipeline.emit({
          kind: "task_retried",
          job_id: message.job_id,
          task_index: state.task_index,
          attempt: state.attempt,
        });
      }
      this.#taskFinished(message, state, state.status as FinishedStatus, startedAt);
    }
    this.announce(message, states);
  }

  /** One chunk event for a chunk of several tasks; a task event each for a chunk of one. */
  announce(message: ChunkMessage, tasks: ChunkTaskState[]): void {
    if (tasks.length === 0) return;
    if (message.tasks.length > 1) {
      this.#o.events.chunk({
        job_id: message.job_id,
        chunk: message.chunk,
        worker_id: this.workerId,
        tasks,
      });
      return;
    }
    for (const task of tasks) {
      this.#o.events.task({ job_id: message.job_id, worker_id: this.workerId, ...task });
    }
  }

  #taskFinished(
    message: ChunkMessage,
    task: { task_index: number },
    status: FinishedStatus,
    startedAt: number,
  ) {
    this.#o.pipeline.emit({
      kind: "task_finished",
      job_id: message.job_id,
      task_index: task.task_index,
      model_type: message.spec.model_type,
      status,
      duration_s: (this.#o.clock.now() - startedAt) / 1000,
    });
  }
}

/** A delivery that is not the chunk's first run: a redelivery, or a resumed chunk's. */
function isRedelivery(delivery: Delivery, message: ChunkMessage): boolean {
  return delivery.deliveryCount > 1 || message.resumed !== undefined;
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
