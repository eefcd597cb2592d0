import Type from "typebox";
import type { Clock } from "../clock.ts";
import { PRIORITIES, type Priority } from "../contract/priorities.ts";
import { InvalidRequestError, JobNotFoundError, JobStateConflictError } from "../errors.ts";
import type { JobAction, JobRecord } from "../jobs/job-record.ts";
import type { JobStore } from "../jobs/job-store.ts";
import type { QueueIndex, TaskQueue } from "../transport/ports.ts";
import { checkRequest as check } from "../validation.ts";
import type { QueueBook } from "./queue-book.ts";

const JOB_ID = "^job_[0-9a-z]{19}$";
/** A record keeps this many queue actions (the latest). */
const HISTORY = 50;
const Reason = Type.String({ maxLength: 500, description: "Why (kept in the job's history)." });

export const PriorityRequestSchema = Type.Object(
  {
    job_id: Type.String({ pattern: JOB_ID }),
    priority: Type.Enum([...PRIORITIES], { description: "urgent | high | normal | low" }),
    reason: Type.Optional(Reason),
  },
  { additionalProperties: false },
);

export const ReorderRequestSchema = Type.Object(
  {
    job_id: Type.String({ pattern: JOB_ID }),
    new_position: Type.Integer({
      minimum: 1,
      description: "1 = next of its priority to start; at most the queued jobs of its priority.",
    }),
    reason: Type.Optional(Reason),
  },
  { additionalProperties: false },
);

export interface ReorderReply {
  job_id: string;
  priority: Priority;
  /** Its place within its priority now. */
  position: number;
  /** Its place in the whole queue now (1 = starts next). */
  queue_position: number;
}

export interface QueueControlOptions {
  store: JobStore;
  queue: TaskQueue;
  /** The shared queue book, written here. */
  index: QueueIndex;
  /** This process's view of it. */
  book: QueueBook;
  clock: Clock;
}

/** States whose queued tasks a priority change moves (a SUBMITTED job's are queued later). */
const REPRIORITISABLE = ["SUBMITTED", "QUEUED", "RUNNING", "PAUSED"] as const;

/**
 * Priority changes and reorders. JetStream lanes are FIFO with no per-message priority, so both
 * re-publish: a job's chunks no worker has pulled yet are copied to the back of their (new) lane
 * and the originals deleted — for a reorder, the job and every job that is to come after it, in
 * their new order. Nothing is done on the steady path: it costs only the operator's request.
 */
export class QueueControl {
  readonly #o: QueueControlOptions;

  constructor(options: QueueControlOptions) {
    this.#o = options;
  }

  /**
   * Moves a live job (and its queued tasks) to another priority.
   * @throws JobNotFoundError; JobStateConflictError (409) for a job that has ended.
   */
  async priority(body: unknown): Promise<JobRecord> {
    const request = check(PriorityRequestSchema, body, "priority request");
    const { store, queue, index, book } = this.#o;
    let from: Priority | undefined;
    let conflict: string | undefined;
    const record = await store.update(request.job_id, (job) => {
      conflict = (REPRIORITISABLE as readonly string[]).includes(job.status)
        ? undefined
        : job.status;
      if (conflict) return undefined;
      from = job.spec.priority;
      return {
        ...withAction(job, this.#action("priority", from, request.priority, request.reason)),
        priority: request.priority,
        spec: { ...job.spec, priority: request.priority },
      };
    });
    if (!record) throw new JobNotFoundError(request.job_id);
    if (conflict)
      throw new JobStateConflictError(request.job_id, "reprioritise", conflict, REPRIORITISABLE);
    const entry = book.get(request.job_id);
    if (from !== undefined && from !== request.priority) {
      await queue.move(request.job_id, from, request.priority);
      if (entry)
        await index.put({ ...entry, priority: request.priority, order: this.#o.clock.now() });
      queue.ring();
    }
    return record;
  }

  /**
   * Places a queued job at `new_position` among the queued jobs of its priority.
   * @throws JobNotFoundError; JobStateConflictError (409) for a job that is not queued;
   *   InvalidRequestError for a position past the end of its priority's queue.
   */
  async reorder(body: unknown): Promise<ReorderReply> {
    const request = check(ReorderRequestSchema, body, "reorder request");
    const { store, queue, index, book, clock } = this.#o;
    const stored = await store.get(request.job_id);
    if (!stored) throw new JobNotFoundError(request.job_id);
    const entry = book.get(request.job_id);
    if (stored.value.status !== "QUEUED" || entry?.status !== "QUEUED") {
      throw new JobStateConflictError(request.job_id, "reorder", stored.value.status, ["QUEUED"]);
    }
    const lane = book.lane(entry.priority);
    if (request.new_position > lane.length) {
      throw new InvalidRequestError("reorder request", [
        {
          path: "/new_position",
          message: `${request.new_position} is out of range: ${lane.length} job(s) are queued at priority ${entry.priority}`,
        },
      ]);
    }
    const from = lane.findIndex((e) => e.job_id === entry.job_id) + 1;
    const others = lane.filter((e) => e.job_id !== entry.job_id);
    const behind = [entry, ...others.slice(request.new_position - 1)];
    // Re-published in their new order: each lands at the back of the lane, after the one before.
    const base = clock.now();
    for (const [i, job] of behind.entries()) {
      if (job.held === undefined) await queue.move(job.job_id, job.priority, job.priority);
      await index.put({ ...job, order: base + i / behind.length });
      book.apply(job.job_id, { ...job, order: base + i / behind.length });
    }
    queue.ring();
    await store.update(request.job_id, (job) =>
      withAction(job, this.#action("reorder", from, request.new_position, request.reason)),
    );
    return {
      job_id: entry.job_id,
      priority: entry.priority,
      position: request.new_position,
      queue_position: book.position(entry.job_id) ?? request.new_position,
    };
  }

  #action(
    action: JobAction["action"],
    from: JobAction["from"],
    to: JobAction["to"],
    reason: string | undefined,
  ): JobAction {
    const at = new Date(this.#o.clock.now()).toISOString();
    return { at, action, from, to, ...(reason === undefined ? {} : { reason }) };
  }
}

/** The record with one more action in its history (the oldest dropped past HISTORY). */
export function withAction(job: JobRecord, action: JobAction): JobRecord {
  return { ...job, history: [...(job.history ?? []), action].slice(-HISTORY) };
}
