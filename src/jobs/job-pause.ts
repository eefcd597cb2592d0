import Type from "typebox";
import type { Clock } from "../clock.ts";
import { JobNotFoundError, JobStateConflictError } from "../errors.ts";
import { withAction } from "../queue/queue-control.ts";
import type { JobSignals, TaskQueue } from "../transport/ports.ts";
import { checkRequest as check } from "../validation.ts";
import type { JobRecord } from "./job-record.ts";
import type { JobState } from "./job-state.ts";
import type { JobStore } from "./job-store.ts";

export const PauseRequestSchema = Type.Object(
  {
    job_id: Type.String({ pattern: "^job_[0-9a-z]{19}$" }),
    reason: Type.Optional(
      Type.String({ maxLength: 500, description: "Kept in the job's history." }),
    ),
  },
  { additionalProperties: false },
);

export interface JobPauseOptions {
  store: JobStore;
  queue: Pick<TaskQueue, "purge" | "ring">;
  signals: Pick<JobSignals, "pause">;
  /** Tells the job's owner, wherever it runs, to look at its record again. */
  nudge(jobId: string): void;
  clock: Clock;
}

const PAUSABLE: readonly JobState[] = ["QUEUED", "RUNNING"];

/**
 * Pause and resume (DESIGN §5.3). The record is the truth, so both hold across processes and a
 * dead owner: a pause marks the job PAUSED with nothing queued (its queued chunks purged), and
 * stops its running tasks everywhere — each stops at its next epoch with its checkpoint saved,
 * records what finished, and is acknowledged. A resume puts the job back where it was (RUNNING
 * if it had started, else QUEUED) with a new resume round; the owner (the same one, or whoever
 * takes the job next) queues again the chunks with tasks left, which run as redeliveries: from
 * their records and checkpoints, so no trained epoch is trained again.
 */
export class JobPause {
  readonly #o: JobPauseOptions;

  constructor(options: JobPauseOptions) {
    this.#o = options;
  }

  /** @throws JobNotFoundError; JobStateConflictError (409) unless QUEUED or RUNNING. */
  async pause(body: unknown): Promise<JobRecord> {
    const { job_id, reason } = check(PauseRequestSchema, body, "pause request");
    const record = await this.#change(job_id, "pause", PAUSABLE, (job) => ({
      ...withAction(job, this.#action("pause", job.status, reason)),
      status: "PAUSED",
      tasks_enqueued: false,
    }));
    await this.#o.queue.purge(job_id);
    this.#o.signals.pause(job_id);
    this.#o.nudge(job_id);
    return record;
  }

  /** @throws JobNotFoundError; JobStateConflictError (409) unless PAUSED. */
  async resume(body: unknown): Promise<JobRecord> {
    const { job_id, reason } = check(PauseRequestSchema, body, "resume request");
    const record = await this.#change(job_id, "resume", ["PAUSED"], (job) => {
      const status = job.started_at ? "RUNNING" : "QUEUED";
      return {
        ...withAction(job, this.#action("resume", status, reason)),
        status,
        resumes: (job.resumes ?? 0) + 1,
      };
    });
    this.#o.nudge(job_id);
    return record;
  }

  async #change(
    jobId: string,
    operation: string,
    allowed: readonly JobState[],
    change: (job: JobRecord) => JobRecord,
  ): Promise<JobRecord> {
    let conflict: JobState | undefined;
    const record = await this.#o.store.update(jobId, (job) => {
      conflict = allowed.includes(job.status) ? undefined : job.status;
      return conflict ? undefined : change(job);
    });
    if (!record) throw new JobNotFoundError(jobId);
    if (conflict) throw new JobStateConflictError(jobId, operation, conflict, allowed);
    return record;
  }

  #action(action: "pause" | "resume", state: JobState, reason: string | undefined) {
    const at = new Date(this.#o.clock.now()).toISOString();
    const [from, to] = action === "pause" ? [state, "PAUSED"] : ["PAUSED", state];
    return { at, action, from, to, ...(reason === undefined ? {} : { reason }) };
  }
}
