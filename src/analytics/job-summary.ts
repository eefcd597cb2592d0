import type { JobRecord } from "../jobs/job-record.ts";

/**
 * What the history keeps of an ended job (one message each, by job id): enough for analytics,
 * small enough that 100,000 of them fit in memory and are read back in a second or two.
 */
export interface JobSummary {
  job_id: string;
  model_type: string;
  user_id: string;
  service: string;
  priority: string;
  status: "COMPLETED" | "FAILED" | "CANCELLED" | "TIMEOUT";
  /** Submitted, started (null if no task ever ran), ended: ms since the epoch. */
  created_ms: number;
  started_ms: number | null;
  finished_ms: number;
  total_tasks: number;
  retries: number;
  /** Training time of its recorded task outcomes, seconds. */
  task_seconds: number;
  cpu_cores: number;
  error: string | null;
}

/** The summary of an ended job's record; `taskSeconds` from its outcomes, when followed. */
export function summaryOf(record: JobRecord, taskSeconds: number): JobSummary {
  const finished = record.finished_at ?? new Date().toISOString();
  return {
    job_id: record.job_id,
    model_type: record.model_type,
    user_id: record.user_id,
    service: record.spec.service ?? record.model_type,
    priority: record.spec.priority,
    status: record.status as JobSummary["status"],
    created_ms: Date.parse(record.created_at),
    started_ms: record.started_at ? Date.parse(record.started_at) : null,
    finished_ms: Date.parse(finished),
    total_tasks: record.total_tasks,
    retries: record.retries,
    task_seconds: Math.round(taskSeconds * 1000) / 1000,
    cpu_cores: record.spec.resources.cpu_cores,
    error: record.error,
  };
}
