/** Worker activity (DESIGN §2.5): one record per `troupe` process, kept in the workers bucket. */
export const WORKER_STATUSES = ["IDLE", "BUSY", "STALE", "DRAINING"] as const;
export type WorkerStatus = (typeof WORKER_STATUSES)[number];

export interface WorkerCapabilities {
  cpu_cores: number;
  memory_gb: number;
  gpu_count: number;
  max_concurrent_tasks: number;
}

export interface WorkerRecord {
  worker_id: string;
  status: WorkerStatus;
  hostname: string;
  pid: number;
  capabilities: WorkerCapabilities;
  /** `<job_id>.<task_index>` of the tasks running now. */
  current_task_ids: string[];
  /** Tasks that completed here (their result recorded). */
  tasks_completed: number;
  /** Tasks whose last attempt failed here: the task failed (its job counts it in failed_tasks). */
  tasks_failed: number;
  /** Tasks stopped here because their job ended (cancelled, timed out or failed). */
  tasks_cancelled: number;
  /** Attempts that failed here and were queued again: the task may still complete. */
  tasks_retried: number;
  /** Share of all cores this process used since the previous heartbeat, 0..1. */
  cpu_usage: number;
  /** Resident memory as a share of the machine's, 0..1. */
  memory_usage: number;
  last_activity_time: string;
  started_at: string;
  /** This worker's HEARTBEAT_INTERVAL: it reads as STALE after two heartbeats missed. */
  heartbeat_interval_ms: number;
}

export interface WorkerActivity {
  total_workers: number;
  /** Workers that are not stale. */
  active_workers: number;
  busy_workers: number;
  workers: WorkerRecord[];
}

/** Heartbeats a worker may miss before it reads as STALE. */
export const MISSED_HEARTBEATS = 2;

/**
 * What a worker record stands for now, by the age of its last heartbeat: `live` (its own status
 * holds), `stale` (two heartbeats missed: shown STALE, whatever it says — it may have died) or
 * `gone` (silent for `workerTimeoutMs`: removed from the list). A record of a worker that did not
 * say its heartbeat (an older version) goes by `workerTimeoutMs` alone.
 */
export function workerFate(
  record: WorkerRecord,
  nowMs: number,
  workerTimeoutMs: number,
): "live" | "stale" | "gone" {
  const age = nowMs - Date.parse(record.last_activity_time);
  const staleAfterMs = record.heartbeat_interval_ms
    ? MISSED_HEARTBEATS * record.heartbeat_interval_ms
    : workerTimeoutMs;
  if (age > Math.max(workerTimeoutMs, staleAfterMs)) return "gone";
  return age > staleAfterMs ? "stale" : "live";
}

export function summarize(records: WorkerRecord[]): WorkerActivity {
  const active = records.filter((r) => r.status !== "STALE");
  return {
    total_workers: records.length,
    active_workers: active.length,
    busy_workers: active.filter((r) => r.status === "BUSY").length,
    workers: records,
  };
}
