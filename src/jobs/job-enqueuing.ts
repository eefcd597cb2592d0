import type { JobEvent } from "../contract/events.ts";
import type { EventSink, JobEventFeed, TaskQueue } from "../transport/ports.ts";
import type { ChunkSizer } from "./chunk-sizing.ts";
import { jobEventOf } from "./gateway.ts";
import type { JobMessage } from "./job-actor.ts";
import { queuedChunks } from "./job-chunks.ts";
import { checkPlacement, type JobPlacementDeps, laneFor } from "./job-placement.ts";
import type { JobQueueing } from "./job-queueing.ts";
import type { JobRecord } from "./job-record.ts";
import { isTerminalJobState, type JobState } from "./job-state.ts";
import type { JobStore } from "./job-store.ts";
import type { JobTally } from "./job-tally.ts";
import { JobWaiting } from "./job-waiting.ts";

/** What the job actor shares with its queueing: its record (replaced as it changes) and more. */
export interface JobHost {
  readonly jobId: string;
  record: JobRecord;
  readonly tally: JobTally;
  readonly ended: boolean;
  /** Reads every chunk record of the job (a resumed job learns which tasks are done). */
  reconcile(): Promise<void>;
  finalize(status: JobState, error: string | null): Promise<void>;
  tell(message: JobMessage): void;
}

export interface JobEnqueuingDeps {
  store: JobStore;
  queue: TaskQueue;
  sizer: ChunkSizer;
  events: EventSink;
  jobEvents: JobEventFeed;
  /** Placement by resources; without it every task goes to the default lanes. */
  placement?: JobPlacementDeps | undefined;
}

/**
 * How a job's tasks get into the queue: after its dependencies hold (job-waiting.ts), once no
 * quota holds it (job-queueing.ts), again after a resume (job-pause.ts) — or never, when a
 * dependency can no longer hold; in the lanes of their resource class, and whether any worker
 * can ever take them from there (job-placement.ts).
 */
export class JobEnqueuing {
  readonly #d: JobEnqueuingDeps;
  readonly #host: JobHost;
  readonly #queueing: JobQueueing;
  /** Set while the job waits on its dependencies (its tasks not queued yet). */
  #waiting: JobWaiting | undefined;

  constructor(deps: JobEnqueuingDeps, host: JobHost, queueing: JobQueueing) {
    this.#d = deps;
    this.#host = host;
    this.#queueing = queueing;
  }

  get waiting(): boolean {
    return this.#waiting !== undefined;
  }

  /** A job it waits on announced its state. */
  async heard(event: JobEvent): Promise<void> {
    this.#waiting?.heard(event);
    await this.awaitDependencies(false);
  }

  close(): void {
    this.#waiting?.close();
  }

  /**
   * Queues the job's tasks as chunks. The chunk size is stored in the record first: an owner
   * that takes over half-way queues the very same chunks (whose message ids make a second
   * publish within the window a no-op, and whose records are keyed by chunk).
   */
  async #enqueueTasks(): Promise<void> {
    const size = this.#host.record.chunk_size ?? (await this.#fixChunkSize());
    const { spec, resumes } = this.#host.record;
    const resume = resumes
      ? { round: resumes, finished: (task: number) => this.#host.tally.hasOutcome(task) }
      : undefined;
    const chunks = queuedChunks(this.#host.jobId, spec, size, resume);
    const placement = this.#d.placement;
    const laneClass = placement ? await laneFor(placement, this.#host.record) : undefined;
    await this.#d.queue.enqueue(spec.priority, this.#host.jobId, chunks, laneClass);
    // At once: the record's update below is not on the tasks' way.
    this.#d.queue.ring(spec.priority, laneClass);
    const updated = await this.#d.store.update(this.#host.jobId, (job) => {
      if (job.tasks_enqueued) return undefined;
      const { lane_class: _, ...rest } = job;
      return {
        ...rest,
        ...(laneClass !== undefined && { lane_class: laneClass }),
        tasks_enqueued: true,
        status: job.status === "SUBMITTED" || job.status === "WAITING" ? "QUEUED" : job.status,
      };
    });
    if (updated) this.#host.record = updated;
    await this.#queueing.queued(this.#host.record);
    this.#d.events.job(jobEventOf(this.#host.record));
  }

  /**
   * Queues the job's tasks if no quota holds it; a held job is QUEUED with its tasks not yet in
   * a lane, and asks again on each tick (`reread`: its record, whose priority may have changed).
   */
  async admitAndEnqueue(reread = false): Promise<void> {
    if (reread)
      this.#host.record = (await this.#d.store.get(this.#host.jobId))?.value ?? this.#host.record;
    if (isTerminalJobState(this.#host.record.status) || this.#host.record.status === "PAUSED")
      return;
    if (await this.#queueing.admit(this.#host.record)) {
      await this.#enqueueTasks();
      return;
    }
    if (this.#host.record.status !== "SUBMITTED" && this.#host.record.status !== "WAITING") return;
    const updated = await this.#d.store.update(this.#host.jobId, (job) =>
      job.status === "SUBMITTED" || job.status === "WAITING"
        ? { ...job, status: "QUEUED" }
        : undefined,
    );
    if (updated) this.#host.record = updated;
    this.#d.events.job(jobEventOf(this.#host.record));
  }

  /**
   * Says in the record whether (and why) no live worker can ever run its queued tasks, on each
   * tick; fails the job once that has held for MAX_UNSCHEDULABLE.
   */
  async checkPlacement(nowMs: number): Promise<void> {
    const placement = this.#d.placement;
    if (!placement || this.#host.ended) return;
    this.#host.record = await checkPlacement(
      { ...placement, store: this.#d.store, events: this.#d.events },
      this.#host.record,
      nowMs,
      (status, error) => this.#host.finalize(status, error),
    );
  }

  /** A resumed job first learns which tasks are done (their chunks are not queued again). */
  async resumeOrEnqueue(): Promise<void> {
    if (this.#host.record.resumes) await this.#host.reconcile();
    if (!this.#host.ended) await this.admitAndEnqueue();
  }

  /** Paused or resumed from outside (job-pause.ts): its slots freed, or its tasks queued again. */
  async steer(stored: JobRecord): Promise<void> {
    const was = this.#host.record?.status;
    this.#host.record = stored;
    if (stored.status === "PAUSED" && was !== "PAUSED") await this.#queueing.paused(stored);
    else if (was === "PAUSED" && stored.status !== "PAUSED" && !stored.tasks_enqueued) {
      await this.resumeOrEnqueue();
    }
  }

  /** Follows the jobs it waits on (job-waiting.ts), then decides. */
  async startWaiting(): Promise<void> {
    this.#waiting = new JobWaiting(this.#d, (event) =>
      this.#host.tell({ kind: "dependency", event }),
    );
    await this.awaitDependencies(true);
  }

  /**
   * Queues the job once its dependencies hold, cancels it once they never can, and otherwise
   * marks it WAITING (job-waiting.ts decides; `read` re-reads every dependency's record).
   */
  async awaitDependencies(read: boolean): Promise<void> {
    const waiting = this.#waiting;
    if (!waiting || this.#host.ended) return;
    const verdict = await waiting.check(this.#host.record, read);
    if (verdict.kind === "ready") {
      waiting.close();
      this.#waiting = undefined;
      await this.resumeOrEnqueue();
    } else if (verdict.kind === "impossible") {
      await this.#host.finalize("CANCELLED", verdict.error);
    } else {
      this.#host.record = await waiting.markWaiting(this.#host.record);
    }
  }

  /**
   * The chunk size of a job whose record has none (submitted by a process that did not size
   * chunks): decided once, in the record, before any chunk is queued.
   */
  async #fixChunkSize(): Promise<number> {
    const size = this.#d.sizer.size(this.#host.record.spec);
    const updated = await this.#d.store.update(this.#host.jobId, (job) =>
      job.chunk_size === undefined ? { ...job, chunk_size: size } : undefined,
    );
    if (updated) this.#host.record = updated;
    return this.#host.record.chunk_size ?? size;
  }
}
