import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";
import { type Admission, releaseAll, waitsBehind } from "../queue/admission.ts";
import type { QueueBook } from "../queue/queue-book.ts";
import type { QuotaSlot } from "../queue/quota.ts";
import type { QueueEntry, QueueIndex } from "../transport/ports.ts";
import { createdMsOf, type JobRecord } from "./job-record.ts";

export interface JobQueueingDeps {
  /** The shared queue book. */
  index: QueueIndex;
  /** This process's view of it. */
  book: QueueBook;
  /** Job-level quotas; undefined: none configured. */
  admission: Admission | undefined;
  clock: Clock;
  log: Logger;
}

/** A job's quota group: its spec's `service`, the model type by default. */
export function serviceOf(record: JobRecord): string {
  return record.spec.service ?? record.model_type;
}

export function entryOf(
  record: JobRecord,
  status: QueueEntry["status"],
  order: number,
): QueueEntry {
  return {
    job_id: record.job_id,
    priority: record.spec.priority,
    user_id: record.user_id,
    service: serviceOf(record),
    status,
    total_tasks: record.total_tasks,
    chunk_size: record.chunk_size ?? 1,
    order,
  };
}

/**
 * One job's place in the queue, for its actor: its queue book entry (queued, running, gone) and
 * its job-level quota slots. A job over a quota is held — queued, its tasks not yet in a lane —
 * and asks again on each tick, unless a job ahead of it waits for the same slot.
 */
export class JobQueueing {
  readonly #d: JobQueueingDeps;
  #slots: QuotaSlot[] = [];
  /** The quota the job waits for, while held. */
  #held: QueueEntry["held"];

  constructor(deps: JobQueueingDeps) {
    this.#d = deps;
  }

  get held(): boolean {
    return this.#held !== undefined;
  }

  /**
   * True when the job may queue its tasks now (no quota applies, or its slots are taken); else
   * it is held, and its entry says for which quota.
   */
  async admit(record: JobRecord): Promise<boolean> {
    const { admission, book, index } = this.#d;
    if (!admission?.applies(entryOf(record, "QUEUED", 0))) return true;
    const waiting = { ...entryOf(record, "QUEUED", createdMsOf(record.job_id)), held: this.#held };
    if (!waitsBehind(waiting, book.queued(), admission.limits)) {
      const admitted = await admission.tryAdmit(waiting);
      if ("slots" in admitted) {
        this.#slots = admitted.slots;
        this.#held = undefined;
        return true;
      }
      if (this.#held !== admitted.held) {
        this.#held = admitted.held;
        await index.put({ ...waiting, held: admitted.held });
      }
      return false;
    }
    if (!this.#held) {
      // Behind a held job: held for the same quota as it, until it has gone.
      this.#held =
        admission.limits.maxConcurrentJobs === undefined ? "service_quota" : "max_concurrent_jobs";
      await index.put({ ...waiting, held: this.#held });
    }
    return false;
  }

  /** A job already queued or running, taken up again: it takes its slots back (never waits). */
  async retake(record: JobRecord): Promise<void> {
    const { admission } = this.#d;
    if (!admission) return;
    const entry = entryOf(record, "RUNNING", 0);
    if (!admission.applies(entry)) return;
    const admitted = await admission.tryAdmit(entry);
    if ("slots" in admitted) this.#slots = admitted.slots;
    else
      this.#d.log.warn(
        { quota: admitted.held },
        "job taken up over its quota (a slot was taken meanwhile)",
      );
  }

  /** Its tasks are in their lane (a resumed job that had started is RUNNING). */
  async queued(record: JobRecord): Promise<void> {
    const status = record.status === "RUNNING" ? "RUNNING" : "QUEUED";
    await this.#d.index.put(entryOf(record, status, this.#d.clock.now()));
  }

  /** Paused: it holds no quota slot while it waits for its resume. */
  async paused(record: JobRecord): Promise<void> {
    this.#held = undefined;
    await this.release();
    await this.#d.index.put(entryOf(record, "PAUSED", this.#d.clock.now()));
  }

  /** Its first task started. */
  async started(record: JobRecord): Promise<void> {
    const known = this.#d.book.get(record.job_id);
    await this.#d.index.put({ ...entryOf(record, "RUNNING", known?.order ?? this.#d.clock.now()) });
  }

  /** It ended: out of the book, its slots freed. */
  async ended(jobId: string): Promise<void> {
    await this.#d.index.remove(jobId);
    await this.release();
  }

  /** Frees its slots (it ended, is paused, or its actor stops). */
  async release(): Promise<void> {
    const slots = this.#slots;
    this.#slots = [];
    await releaseAll(slots);
  }
}
