import type { JobSummary } from "./job-summary.ts";

/** The most frequent errors listed in a failure analysis. */
const TOP_ERRORS = 10;

export interface GroupStats {
  jobs: number;
  completed: number;
  failed: number;
  /** Completed of those that ended (0..1). */
  success_rate: number;
  /** Mean seconds from submit to the end, of completed jobs. */
  avg_completion_time: number;
  /** Task training time, seconds. */
  task_seconds: number;
}

export interface AnalyticsReport {
  window: string;
  window_start: string;
  window_end: string;
  /** Jobs that ended in the window. */
  total_jobs: number;
  by_status: Record<JobSummary["status"], number>;
  throughput: {
    jobs_per_hour: number;
    /** Mean seconds from submit to the end, of completed jobs. */
    avg_completion_time: number;
    /** Mean seconds from submit to the first task starting, of jobs that started. */
    queue_wait_time: number;
  };
  success_metrics: {
    success_rate: number;
    /** Jobs with at least one task retried, of all jobs (0..1). */
    retry_rate: number;
    /** Task attempts beyond the first, over all jobs. */
    total_retries: number;
    /** The most frequent errors of failed and timed-out jobs, most frequent first. */
    failure_analysis: { error: string; count: number }[];
  };
  resource_utilization: {
    /** Task training time, seconds. */
    task_seconds: number;
    /** The same weighted by each job's cpu_cores. */
    cpu_core_seconds: number;
    /** Training seconds per second of the window: busy cores on average. */
    avg_busy_cores: number;
    avg_tasks_per_job: number;
  };
  by_model_type: Record<string, GroupStats>;
  by_user: Record<string, GroupStats>;
}

/**
 * Analytics over the jobs that ended within `windowMs` before `nowMs`. One pass over the
 * summaries, so 100,000 jobs take milliseconds (bench/analytics.ts).
 */
export function analyze(
  summaries: Iterable<JobSummary>,
  window: { label: string; ms: number; nowMs: number },
): AnalyticsReport {
  const since = window.nowMs - window.ms;
  const byStatus = { COMPLETED: 0, FAILED: 0, CANCELLED: 0, TIMEOUT: 0 };
  const all = new Group();
  const byModel = new Map<string, Group>();
  const byUser = new Map<string, Group>();
  const errors = new Map<string, number>();
  let waitSum = 0;
  let waited = 0;
  let retried = 0;
  let retries = 0;
  let coreSeconds = 0;
  let tasks = 0;
  for (const s of summaries) {
    if (s.finished_ms < since || s.finished_ms > window.nowMs) continue;
    byStatus[s.status] += 1;
    all.add(s);
    groupOf(byModel, s.model_type).add(s);
    groupOf(byUser, s.user_id).add(s);
    if (s.started_ms !== null) {
      waitSum += s.started_ms - s.created_ms;
      waited += 1;
    }
    if (s.retries > 0) retried += 1;
    retries += s.retries;
    coreSeconds += s.task_seconds * s.cpu_cores;
    tasks += s.total_tasks;
    if ((s.status === "FAILED" || s.status === "TIMEOUT") && s.error) {
      const cause = causeOf(s.error);
      errors.set(cause, (errors.get(cause) ?? 0) + 1);
    }
  }
  const stats = all.stats();
  return {
    window: window.label,
    window_start: new Date(since).toISOString(),
    window_end: new Date(window.nowMs).toISOString(),
    total_jobs: stats.jobs,
    by_status: byStatus,
    throughput: {
      jobs_per_hour: round((stats.jobs / window.ms) * 3_600_000),
      avg_completion_time: stats.avg_completion_time,
      queue_wait_time: waited === 0 ? 0 : round(waitSum / waited / 1000),
    },
    success_metrics: {
      success_rate: stats.success_rate,
      retry_rate: stats.jobs === 0 ? 0 : round(retried / stats.jobs),
      total_retries: retries,
      failure_analysis: [...errors]
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .slice(0, TOP_ERRORS)
        .map(([error, count]) => ({ error, count })),
    },
    resource_utilization: {
      task_seconds: stats.task_seconds,
      cpu_core_seconds: round(coreSeconds),
      avg_busy_cores: round(coreSeconds / (window.ms / 1000)),
      avg_tasks_per_job: stats.jobs === 0 ? 0 : round(tasks / stats.jobs),
    },
    by_model_type: statsOf(byModel),
    by_user: statsOf(byUser),
  };
}

/**
 * What a failure comes down to, without the parts that differ per job: "task 3 failed after 2
 * attempt(s): worker crashed: boom" counts as "worker crashed: boom".
 */
export function causeOf(error: string): string {
  return error.replace(/^task \d+ failed after \d+ attempt\(s\): /, "").slice(0, 300);
}

class Group {
  jobs = 0;
  completed = 0;
  failed = 0;
  completionMs = 0;
  taskSeconds = 0;

  add(s: JobSummary): void {
    this.jobs += 1;
    this.taskSeconds += s.task_seconds;
    if (s.status === "COMPLETED") {
      this.completed += 1;
      this.completionMs += s.finished_ms - s.created_ms;
    } else if (s.status === "FAILED" || s.status === "TIMEOUT") this.failed += 1;
  }

  stats(): GroupStats {
    const ended = this.completed + this.failed;
    return {
      jobs: this.jobs,
      completed: this.completed,
      failed: this.failed,
      success_rate: ended === 0 ? 0 : round(this.completed / ended),
      avg_completion_time:
        this.completed === 0 ? 0 : round(this.completionMs / this.completed / 1000),
      task_seconds: round(this.taskSeconds),
    };
  }
}

function groupOf(groups: Map<string, Group>, key: string): Group {
  let group = groups.get(key);
  if (!group) {
    group = new Group();
    groups.set(key, group);
  }
  return group;
}

function statsOf(groups: Map<string, Group>): Record<string, GroupStats> {
  return Object.fromEntries([...groups].map(([key, group]) => [key, group.stats()]));
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
