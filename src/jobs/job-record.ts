import { randomFillSync } from "node:crypto";
import type { JobSpec } from "./job-spec.ts";
import type { JobState } from "./job-state.ts";

/** A job as every door returns it (DESIGN §2.2), plus its spec. */
export interface JobRecord {
  job_id: string;
  name: string;
  model_type: JobSpec["model_type"];
  status: JobState;
  priority: JobSpec["priority"];
  user_id: string;
  total_tasks: number;
  completed_tasks: number;
  failed_tasks: number;
  running_tasks: number;
  /** completed_tasks / total_tasks, 0..1. */
  progress: number;
  /** The aggregate's metrics once known (the mean of the finished tasks' while running). */
  metrics: { loss: number | null; accuracy: number | null };
  /** Task attempts beyond the first, over all tasks. */
  retries: number;
  error: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  spec: JobSpec;
  /** True once the job's tasks are in the queue (a new owner must not queue them again). */
  tasks_enqueued: boolean;
  /** Tasks per chunk (queue message, pool post, result record), decided once at submit. */
  chunk_size?: number;
  /** Times the job was resumed: its chunks queued again carry it (a fresh message id each time). */
  resumes?: number;
  /** The resource class whose lanes its tasks were queued in; absent: the default lanes. */
  lane_class?: string;
  /** Why no live worker can ever run its tasks (placement), while that holds. */
  unschedulable?: string;
  /** Since when it has been unschedulable (ISO 8601), for MAX_UNSCHEDULABLE. */
  unschedulable_since?: string;
  /** Operators' queue actions on the job (priority changes, reorders, pauses), oldest first. */
  history?: JobAction[];
}

/** One queue action on a job, as its record keeps it. */
export interface JobAction {
  at: string;
  action: "priority" | "reorder" | "pause" | "resume";
  from?: string | number;
  to?: string | number;
  reason?: string;
}

/** When a job was submitted (ms), read from its id (its time part). */
export function createdMsOf(jobId: string): number {
  return Number.parseInt(jobId.slice(4, 13), 36);
}

/**
 * A new job id: `job_` + time (ms, base 36, fixed width) + 10 random characters, so ids sort by
 * creation time (listing pages through them newest first) and never collide across processes.
 */
export function newJobId(now = Date.now()): string {
  const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz";
  if (randomOffset + 10 > randomPool.length) {
    randomFillSync(randomPool);
    randomOffset = 0;
  }
  let random = "";
  for (let i = 0; i < 10; i++) random += alphabet[(randomPool[randomOffset++] as number) % 36];
  return `job_${now.toString(36).padStart(9, "0")}${random}`;
}

/** Random bytes for job ids, drawn 4 KiB at a time: one system call per 409 ids, not one each. */
const randomPool = Buffer.alloc(4096);
let randomOffset = randomPool.length;

export function newJobRecord(
  jobId: string,
  spec: JobSpec,
  now: Date,
  chunkSize: number,
): JobRecord {
  return {
    job_id: jobId,
    name: spec.name,
    model_type: spec.model_type,
    status: "SUBMITTED",
    priority: spec.priority,
    user_id: spec.user_id,
    total_tasks: spec.tasks,
    completed_tasks: 0,
    failed_tasks: 0,
    running_tasks: 0,
    progress: 0,
    metrics: { loss: null, accuracy: null },
    retries: 0,
    error: null,
    created_at: now.toISOString(),
    started_at: null,
    finished_at: null,
    spec,
    tasks_enqueued: false,
    chunk_size: chunkSize,
  };
}
