import type { Resources } from "../contract/resources.ts";

/**
 * Worker activity (DESIGN §2.5): one record per `troupe` process, kept in the workers bucket, and
 * the view every door answers (`WorkerView`): the stored fields in Troupe's units and, beside
 * them, the seed orchestrators' fields in theirs.
 */
export const WORKER_STATUSES = ["IDLE", "BUSY", "STALE", "DRAINING"] as const;
export type WorkerStatus = (typeof WORKER_STATUSES)[number];

export interface WorkerCapabilities {
  /** Its slots (MAX_CONCURRENT_TASKS): a 2-core task holds two. */
  cpu_cores: number;
  /** WORKER_MEMORY_GB, else the machine's memory. */
  memory_gb: number;
  /** WORKER_GPUS. */
  gpu_count: number;
  max_concurrent_tasks: number;
  /** WORKER_SERVICES: the only services it takes tasks of; absent (older workers) or null: all. */
  services?: string[] | null;
  /** WORKER_LABELS, matched by a job's node_selector. */
  labels?: Record<string, string>;
}

/** What a worker writes to the workers bucket (shares 0..1, ISO times). */
export interface WorkerRecord {
  worker_id: string;
  status: WorkerStatus;
  hostname: string;
  pid: number;
  capabilities: WorkerCapabilities;
  /** `<job_id>.<task_index>` of the tasks running now. */
  current_task_ids: string[];
  /** What its running chunks hold (a 2-core task: 2 cores); absent on older workers. */
  allocated?: Resources;
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
  /** This worker's WORKER_TIMEOUT (HEARTBEAT_TTL_SEC): silent this long, a worker is removed. */
  worker_timeout_ms?: number;
}

/**
 * A worker as the doors show it. Seed 000's orchestrator reports `cpu_usage` and `memory_usage` in
 * percent and `last_activity_time` in unix seconds, so those names carry those units; Troupe's
 * shares and ISO time are `cpu_share`, `memory_share` and `last_activity_at`. Seed 000 also has
 * `current_task_id` (one task) and `is_active`; seed 003 `last_seen` and `stale`.
 */
export interface WorkerView
  extends Omit<WorkerRecord, "cpu_usage" | "memory_usage" | "last_activity_time"> {
  /** Percent of all cores since the previous heartbeat, 0..100 (seed 000). */
  cpu_usage: number;
  /** Resident memory, percent of the machine's, 0..100 (seed 000). */
  memory_usage: number;
  /** Last heartbeat or task change, unix seconds (seed 000). */
  last_activity_time: number;
  cpu_share: number;
  memory_share: number;
  last_activity_at: string;
  /** The first of `current_task_ids`, or "" when idle (seed 000 runs one task a worker). */
  current_task_id: string;
  /** Not stale (seed 000). */
  is_active: boolean;
  /** `last_activity_at` (seed 003). */
  last_seen: string;
  /** Two heartbeats missed (seed 003). */
  stale: boolean;
}

export interface WorkerActivity {
  total_workers: number;
  /** Workers that are not stale. */
  active_workers: number;
  busy_workers: number;
  workers: WorkerView[];
}

/** The view of a stored record (fields an older worker does not write read as 0). */
export function workerView(record: WorkerRecord): WorkerView {
  const percent = (share: number) => Math.round(share * 1000) / 10;
  const at = record.last_activity_time;
  return {
    ...record,
    tasks_cancelled: record.tasks_cancelled ?? 0,
    tasks_retried: record.tasks_retried ?? 0,
    cpu_usage: percent(record.cpu_usage),
    memory_usage: percent(record.memory_usage),
    last_activity_time: Math.floor(Date.parse(at) / 1000),
    cpu_share: record.cpu_usage,
    memory_share: record.memory_usage,
    last_activity_at: at,
    current_task_id: record.current_task_ids[0] ?? "",
    is_active: record.status !== "STALE",
    last_seen: at,
    stale: record.status === "STALE",
  };
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
    workers: records.map(workerView),
  };
}
